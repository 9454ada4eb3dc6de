/** What a phone is started with and what it tells its listeners. */
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import type { EnvelopeFailedPush } from '../wire/frames.js'
import type { InboxView, StatusEvent } from './phone-messages.js'
import type { Scheduler } from './scheduler.js'

/** Where a registering phone reads its verification code (in-process: the network server's `lastCode`). */
export type CodeSource = (cc: string, phone: string) => Promise<string | undefined> | string | undefined

export interface PhoneOptions {
  /** The phone's folder: profile, inbox, outbox, status log, Signal state, received media. */
  dir: string
  /** `ws://host:port/ws` of the network. */
  networkUrl: string
  /** Needed only to register a phone whose folder has no profile yet. */
  register?: { cc: string; phone: string; codeSource: CodeSource; profileName?: string }
  clock?: Clock
  scheduler?: Scheduler
  logger?: Logger
  /** One-time pre-keys per upload and per top-up. */
  preKeys?: number
  /** Defaults for a new phone's behaviour. */
  autoReadDelayMs?: number | null
  /**
   * fsync every write. Default false: temp file + rename and appends already survive a killed
   * process; fsync adds power-loss safety at about a quarter of the message rate.
   */
  fsync?: boolean
}

export class PhoneOfflineError extends Error {
  override name = 'PhoneOfflineError'
}

export interface PhoneEvents {
  /** A received message was persisted and acked. */
  message: [InboxView]
  /** A receipt for one of the phone's own messages was persisted. */
  receipt: [Extract<StatusEvent, { type: 'receipt' }>]
  /** Messages were marked read (their receipts sent and the mark persisted). */
  read: [string[]]
  /** A counterparty (a business answering through the Cloud API) started typing. */
  typing: [from: string]
  /** An envelope went over the network: its size is all the network saw of it (the Hub shows it). */
  envelope: [{ direction: 'in' | 'out'; envelopeId: string; peer: string; bytes: number }]
  /** An envelope the phone sent failed after being accepted. */
  failed: [EnvelopeFailedPush]
  /** Pre-keys were uploaded; the network now holds this many one-time keys. */
  keys: [preKeysLeft: number]
  online: []
  offline: []
}
