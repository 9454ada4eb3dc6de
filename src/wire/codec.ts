import { Decoder, Encoder } from '@msgpack/msgpack'
import { PROTOCOL_VERSION, type ClientFrame, type ServerFrame, type WireErrorCode } from './frames.js'

/** `Omit` that keeps a union a union (plain `Omit` would collapse it to the common keys). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/**
 * A frame that cannot be decoded or does not match the protocol. With `refusal`, it was a
 * well-formed request with a bad field: the server answers that request alone with the
 * refusal. Without, nothing can be answered and the server closes with PROTOCOL_ERROR.
 */
export class FrameError extends Error {
  override name = 'FrameError'

  constructor(
    message: string,
    readonly refusal?: { id: string; code: WireErrorCode },
  ) {
    super(message)
  }
}

export const MAX_FRAME_BYTES = 1024 * 1024
export const MAX_ENVELOPE_BODY_BYTES = 256 * 1024
const MAX_STRING = 4096
const MAX_ID = 128
const MAX_KEY_BYTES = 4096
const MAX_LIST = 1000

type Check = ((value: unknown) => boolean) & { optional?: true; maxBytes?: number }
type Spec = Record<string, Check>

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
const str: Check = (v) => typeof v === 'string' && v.length <= MAX_STRING
const id: Check = (v) => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID
const uint: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0
const bool: Check = (v) => typeof v === 'boolean'
const any: Check = () => true
const bin = (max: number): Check => Object.assign((v: unknown) => v instanceof Uint8Array && v.byteLength <= max, { maxBytes: max })
const oneOf = (...values: unknown[]): Check => (v) => values.includes(v)
const listOf = (check: Check, max = MAX_LIST): Check => (v) => Array.isArray(v) && v.length <= max && v.every(check)
const shape = (spec: Spec): Check => (v) => isRecord(v) && firstBadField(v, spec) === undefined
/** Absent, or nil on the wire (normalised to absent). */
const optional = (check: Check): Check => Object.assign((v: unknown) => v === undefined || v === null || check(v), { optional: true as const })
const nullable = (check: Check): Check => (v) => v === null || check(v)

const key = bin(MAX_KEY_BYTES)
const signedKey = shape({ id: uint, publicKey: key, signature: key })
const oneTimeKey = shape({ id: uint, publicKey: key })
const wireError = shape({ code: str, message: str })

const clientSpecs: Record<ClientFrame['t'], Spec> = {
  'register.request': { cc: str, phone: str, method: oneOf('sms', 'voice'), cert: optional(bin(MAX_KEY_BYTES)), identityKey: optional(key), migrate: optional(bool) },
  'register.verify': { cc: str, phone: str, code: str, pin: optional(str), identityKey: optional(key), migrate: optional(bool) },
  'account.pin': { pin: nullable(str) },
  login: { waId: str, password: str, shard: optional(uint), shards: optional(uint) },
  'keys.upload': {
    registrationId: uint,
    identityKey: key,
    signedPreKey: signedKey,
    kyberPreKey: signedKey,
    preKeys: listOf(oneTimeKey),
    kyberPreKeys: listOf(signedKey),
  },
  'keys.get': { waId: str },
  'envelope.send': {
    envelopeId: id,
    to: str,
    kind: oneOf('prekey', 'message'),
    body: bin(MAX_ENVELOPE_BODY_BYTES),
    category: optional(oneOf('marketing', 'utility', 'authentication', 'service')),
    businessInitiated: optional(bool),
    templateId: optional(id),
  },
  'envelope.ack': { envelopeIds: listOf(id) },
  'receipt.send': { to: str, kind: oneOf('delivered', 'read'), envelopeIds: listOf(id) },
  'receipt.ack': { receiptIds: listOf(id) },
  'templates.get': { waba: optional(str) },
  'templates.create': { template: isRecord, waba: optional(str) },
  'templates.update': { templateId: id, changes: isRecord, waba: optional(str) },
  'templates.delete': { name: str, templateId: optional(id), waba: optional(str) },
  'contacts.check': { phones: listOf(str) },
  'bsuid.resolve': { userId: str },
  'typing.send': { to: str },
  feedback: { waId: str, kind: oneOf('block', 'unblock', 'report') },
  'account.update.ack': { updateIds: listOf(id) },
}

const serverSpecs: Record<ServerFrame['t'], Spec> = {
  ack: { id, ok: bool, error: optional(wireError), result: any },
  envelope: { envelopeId: id, from: str, kind: oneOf('prekey', 'message'), body: bin(Infinity), serverTimestamp: uint, fromUserId: optional(str) },
  receipt: { receiptId: id, from: str, kind: oneOf('delivered', 'read'), envelopeIds: listOf(id, Infinity), timestamp: uint, fromUserId: optional(str) },
  typing: { from: str, timestamp: uint },
  'keys.low': { preKeysLeft: uint },
  'envelope.failed': { envelopeId: id, to: str, error: wireError },
  'account.update': { updateId: id, field: str, value: isRecord, timestamp: uint },
}

// a spec's fields listed once, not by Object.entries on every frame
const specFields = new WeakMap<Spec, [string, Check][]>()

function firstBadField(record: Record<string, unknown>, spec: Spec): string | undefined {
  let fields = specFields.get(spec)
  if (!fields) specFields.set(spec, (fields = Object.entries(spec)))
  for (const [field, check] of fields) {
    if (!check(record[field])) return field
    if (check.optional && record[field] === null) delete record[field]
  }
  return undefined
}

const encoder = new Encoder({ ignoreUndefined: true })
// Limits stop a hostile peer from making the decoder allocate huge strings or arrays.
const requestDecoder = new Decoder({ maxStrLength: 64 * 1024, maxBinLength: MAX_FRAME_BYTES, maxArrayLength: 10_000, maxMapLength: 64 })
const pushDecoder = new Decoder()

export function encodeFrame(frame: ClientFrame | ServerFrame): Uint8Array {
  return encoder.encode(frame)
}

function decodeWith<T>(decoder: Decoder, data: Uint8Array, specs: Record<string, Spec>, needsId: boolean): T {
  let value: unknown
  try {
    value = decoder.decode(data)
  } catch (err) {
    throw new FrameError(`undecodable frame: ${(err as Error).message}`)
  }
  if (!isRecord(value)) throw new FrameError('frame is not a map')
  if (value.v !== PROTOCOL_VERSION) throw new FrameError(`unsupported protocol version ${String(value.v)}`)
  const spec = typeof value.t === 'string' && Object.hasOwn(specs, value.t) ? specs[value.t] : undefined
  if (!spec) throw new FrameError(`unknown frame type ${String(value.t)}`)
  if (needsId && !id(value.id)) throw new FrameError(`${value.t}: missing or invalid id`)
  const bad = firstBadField(value, spec)
  if (bad !== undefined) throw badField(value as Record<string, unknown> & { t: string }, bad, spec[bad]!, needsId)
  return value as T
}

/** A request with an id can be refused on its own; bytes of the right type can only be too many. */
function badField(frame: Record<string, unknown> & { t: string }, field: string, check: Check, isRequest: boolean): FrameError {
  const value = frame[field]
  const refusal = (code: WireErrorCode) => (isRequest ? { id: frame.id as string, code } : undefined)
  if (value instanceof Uint8Array && check.maxBytes !== undefined) {
    return new FrameError(`${frame.t}: ${field} is ${value.byteLength} bytes, over the limit of ${check.maxBytes} bytes`, refusal('too_large'))
  }
  return new FrameError(`${frame.t}: invalid field ${field}`, refusal('bad_request'))
}

/** Decodes and validates a frame sent by a client; throws FrameError on anything else. */
export function decodeClientFrame(data: Uint8Array): ClientFrame {
  return decodeWith<ClientFrame>(requestDecoder, data, clientSpecs, true)
}

/** Decodes and validates a frame sent by the server; throws FrameError on anything else. */
export function decodeServerFrame(data: Uint8Array): ServerFrame {
  return decodeWith<ServerFrame>(pushDecoder, data, serverSpecs, false)
}
