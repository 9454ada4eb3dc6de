import fs from 'node:fs/promises'
import path from 'node:path'
import type { PlatformType } from '../domain/hosting.js'

/** One business number of this instance, as credentials.json lists it. */
export interface NumberCredentials {
  wa_id: string
  phone_number_id: string
  /** A `D360-API-KEY` of the number (the On-Prem dialect, and waba-v2 for a Cloud-hosted one). */
  api_key: string
  platform_type: PlatformType
}

/** What a Cloud API client needs: the Graph base URL, a token reaching the WABA, the app and the Cloud-hosted number. */
export interface CloudCredentials {
  /** The API's own listener: Graph paths are served next to `/v1`. */
  base_url: string
  api_version: string
  /** A system-user token of the WABA with both scopes. */
  access_token: string
  app_id: string
  /** Signs the Cloud webhooks (`X-Hub-Signature-256`); `<app_id>|<app_secret>` is the app access token. */
  app_secret: string
  /** A token to answer wabox's GET handshake with when subscribing a webhook. */
  verify_token: string
  waba_id: string
  phone_number_id: string
}

/** The Partner API (`/partner/v1/`) with the default partner's key pair, sent as HTTP Basic `key_id:secret`. */
export interface PartnerCredentials {
  base_url: string
  key_id: string
  secret: string
}

/** `<data-dir>/credentials.json`: what a user (or `wabox phone`) needs to talk to this instance. */
export interface Credentials {
  api_url: string
  /** `numbers[0]` is the On-Prem demo number, then the Cloud-hosted one. */
  numbers: NumberCredentials[]
  cloud: CloudCredentials
  partner: PartnerCredentials
  /** The default login while it is unchanged; once changed, the password is never written here. */
  admin: { username: string; password: string | null; password_changed: boolean }
  phones: string[]
  control_url: string
  control_token: string
}

/** `<data-dir>/credentials.json` of `wabox network`: where the network and its phones are reached. */
export interface NetworkCredentials {
  network_url: string
  control_url: string
  control_token: string
  phones: string[]
}

/** What an earlier start may have left: before Cloud hosting there was no `cloud` and no `platform_type`, before the tenancy no `partner`. */
export type EarlierCredentials = Omit<Credentials, 'numbers' | 'cloud' | 'partner'> & {
  numbers: (Omit<NumberCredentials, 'platform_type'> & { platform_type?: PlatformType })[]
  cloud?: Partial<CloudCredentials>
  partner?: Partial<PartnerCredentials>
}

function credentialsFile(dataDir: string): string {
  return path.join(dataDir, 'credentials.json')
}

export async function readCredentials(dataDir: string): Promise<EarlierCredentials | undefined> {
  try {
    return JSON.parse(await fs.readFile(credentialsFile(dataDir), 'utf8')) as EarlierCredentials
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Writes credentials.json atomically, owner-only: `wabox start`'s, or `wabox network`'s (NetworkCredentials). */
export async function writeCredentials(dataDir: string, credentials: Credentials | NetworkCredentials): Promise<void> {
  const file = credentialsFile(dataDir)
  const tmp = `${file}.${process.pid}.tmp`
  await fs.writeFile(tmp, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 })
  await fs.rename(tmp, file)
}
