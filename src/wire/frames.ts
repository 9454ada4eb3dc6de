/**
 * The wabox network wire protocol, version 1: the contract between the network server
 * (`src/network/`), the simulated phones (`src/phones/`) and the CoreApp (`src/coreapp/`).
 * Frames are MessagePack maps sent as binary WebSocket messages; byte fields are
 * MessagePack `bin`. `docs/protocol.md` is the human description of this file.
 */
export const PROTOCOL_VERSION = 1

/** Shard counts a business number may use (On-Prem multiconnect). */
export const SHARD_COUNTS = [1, 2, 4, 8, 16, 32] as const

/** WebSocket close codes the server uses. */
export const CloseCode = {
  /** A newer login for the same (wa_id, shard) took over this connection. */
  REPLACED: 4001,
  /** Credentials were wrong or the account is not registered. */
  AUTH_FAILED: 4002,
  /** The client spoke an unknown protocol version, or sent a frame that names no request to answer. */
  PROTOCOL_ERROR: 4003,
  /** The server is shutting down. */
  SHUTDOWN: 4004,
} as const

/** Error codes carried by `ack` frames with `ok: false`. */
export type WireErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'not_registered' // the addressed wa_id is not on the network (CoreApp: 1013 / 131026)
  | 'wrong_code' // registration code mismatch
  | 'registered_elsewhere' // the number is held by another device; register with migrate: true to move it
  | 'pin_required'
  | 'wrong_pin'
  | 'bad_certificate' // vname certificate missing/invalid (1005)
  | 'spam_rate_limit' // quality-based limit (471 / 131048)
  | 'pair_rate_limit' // too many messages to one user (131056)
  | 'throughput_limit' // number-level messages per second (429 / 130429)
  | 'messaging_limit' // tier of unique business-initiated users per 24 h reached
  | 'blocked' // the recipient blocked this business
  | 'not_found'
  | 'wrong_shard' // recipient does not belong to the shard this connection owns
  | 'too_large' // a frame or field is over its limit (e.g. an envelope body over 256 KiB); never retried
  | 'already_exists' // a template of that name and language exists (Graph 100 / 2388024)
  | 'internal'

export interface WireError {
  code: WireErrorCode
  message: string
}

// ---- client → server requests; each carries a client-chosen `id` echoed in the ack ----

export interface RequestBase {
  v: typeof PROTOCOL_VERSION
  id: string
}

/** Ask for a registration code. `cert` is the vname certificate (business accounts only). */
export interface RegisterRequest extends RequestBase {
  t: 'register.request'
  cc: string
  phone: string
  method: 'sms' | 'voice'
  cert?: Uint8Array
  /** The registering device's identity key, if it has one: the holder's own key may register again. */
  identityKey?: Uint8Array
  /** Take the number over from the device that holds it. */
  migrate?: boolean
}

export interface RegisterVerify extends RequestBase {
  t: 'register.verify'
  cc: string
  phone: string
  code: string
  pin?: string
  identityKey?: Uint8Array
  migrate?: boolean
}

export interface SetPin extends RequestBase {
  t: 'account.pin'
  pin: string | null
}

/** First frame of an authenticated session. Business clients pass `shard`/`shards`. */
export interface Login extends RequestBase {
  t: 'login'
  waId: string
  password: string
  shard?: number
  shards?: number
}

export interface SignedKey {
  id: number
  publicKey: Uint8Array
  signature: Uint8Array
}

export interface OneTimeKey {
  id: number
  publicKey: Uint8Array
}

/** Upload (or top up) the account's public Signal keys. Replaces the signed keys. */
export interface KeysUpload extends RequestBase {
  t: 'keys.upload'
  registrationId: number
  identityKey: Uint8Array
  signedPreKey: SignedKey
  /** Last-resort Kyber pre-key, used when no one-time Kyber key is left. */
  kyberPreKey: SignedKey
  preKeys: OneTimeKey[]
  kyberPreKeys: SignedKey[]
}

export interface KeysGet extends RequestBase {
  t: 'keys.get'
  waId: string
}

/** Content categories that the network meters (conversation pricing). */
export type Category = 'marketing' | 'utility' | 'authentication' | 'service'

export interface EnvelopeSend extends RequestBase {
  t: 'envelope.send'
  /** Stable id chosen by the sender; a second send with the same id is acked, not relayed. */
  envelopeId: string
  to: string
  /** Signal message kind: 'prekey' for a PreKeySignalMessage, 'message' for a SignalMessage. */
  kind: 'prekey' | 'message'
  body: Uint8Array
  /** Set by business senders: template messages open business-initiated conversations. */
  category?: Category
  businessInitiated?: boolean
  /** A template message: the template's id, so that blocks and reports count against its quality. */
  templateId?: string
}

/** The receiver confirms it persisted an envelope; the server then forgets it. */
export interface EnvelopeAck extends RequestBase {
  t: 'envelope.ack'
  envelopeIds: string[]
}

export interface ReceiptSend extends RequestBase {
  t: 'receipt.send'
  to: string
  kind: 'delivered' | 'read'
  envelopeIds: string[]
}

export interface ReceiptAck extends RequestBase {
  t: 'receipt.ack'
  receiptIds: string[]
}

/** Template requests name the number's WABA (absent: none): a WABA's numbers share its templates. */
interface TemplatesRequest extends RequestBase {
  waba?: string
}

export interface TemplatesGet extends TemplatesRequest {
  t: 'templates.get'
}

/** Business numbers: submit a template for review (Meta's rules, domain/template-definition.ts). */
export interface TemplatesCreate extends TemplatesRequest {
  t: 'templates.create'
  template: Record<string, unknown>
}

/** Business numbers: edit one of their templates (`components` and/or `category`); it goes back to review. */
export interface TemplatesUpdate extends TemplatesRequest {
  t: 'templates.update'
  templateId: string
  changes: Record<string, unknown>
}

/** Business numbers: delete every language of `name`, or only the template `templateId` of that name. */
export interface TemplatesDelete extends TemplatesRequest {
  t: 'templates.delete'
  name: string
  templateId?: string
}

export interface ContactsCheck extends RequestBase {
  t: 'contacts.check'
  /** Normalised digits (country code included). */
  phones: string[]
}

/**
 * Business numbers only: the user behind a business-scoped user id (BSUID) of this business.
 * Unknown ids, other businesses' ids and ids of users who left the network are `not_found`.
 */
export interface BsuidResolve extends RequestBase {
  t: 'bsuid.resolve'
  userId: string
}

/**
 * Show the counterparty that this account is typing (the Cloud API's typing indicator). Not
 * stored: it reaches the counterparty only if it is connected now, else it is dropped.
 */
export interface TypingSend extends RequestBase {
  t: 'typing.send'
  to: string
}

/** The business persisted these `account.update` pushes: the server forgets them. */
export interface AccountUpdateAck extends RequestBase {
  t: 'account.update.ack'
  updateIds: string[]
}

/** Phones only: block or report a business (feeds the quality rating). */
export interface Feedback extends RequestBase {
  t: 'feedback'
  waId: string
  kind: 'block' | 'unblock' | 'report'
}

export type ClientFrame =
  | RegisterRequest
  | RegisterVerify
  | SetPin
  | Login
  | KeysUpload
  | KeysGet
  | EnvelopeSend
  | EnvelopeAck
  | ReceiptSend
  | ReceiptAck
  | TemplatesGet
  | TemplatesCreate
  | TemplatesUpdate
  | TemplatesDelete
  | ContactsCheck
  | BsuidResolve
  | TypingSend
  | Feedback
  | AccountUpdateAck

// ---- server → client ----

export interface Ack {
  v: typeof PROTOCOL_VERSION
  t: 'ack'
  id: string
  ok: boolean
  error?: WireError
  result?: unknown
}

/** Ack results, by request type. */
export interface RegisterRequestResult {
  status: 'code_sent' | 'already_registered'
  vname?: string
}
export interface RegisterVerifyResult {
  waId: string
  password: string
}
export interface LoginResult {
  serverTime: number
  /** One-time pre-keys the server still holds for this account. */
  preKeysLeft: number
}
export interface PreKeyBundleWire {
  registrationId: number
  deviceId: number
  identityKey: Uint8Array
  signedPreKey: SignedKey
  preKey?: OneTimeKey
  kyberPreKey: SignedKey
}
export interface EnvelopeSendResult {
  serverTimestamp: number
  duplicate: boolean
  /** To a business sending to a user: the addressee's BSUID towards this business. */
  toUserId?: string
}
export interface BsuidResolveResult {
  waId: string
}
export interface TypingSendResult {
  /** False when the addressee had no connection to take it. */
  delivered: boolean
}
export interface ContactsCheckResult {
  results: { phone: string; waId?: string }[]
}
export interface TemplateComponentWire {
  type: 'HEADER' | 'BODY' | 'FOOTER' | 'BUTTONS'
  format?: 'TEXT' | 'IMAGE' | 'VIDEO' | 'DOCUMENT' | 'LOCATION'
  text?: string
  example?: Record<string, unknown>
  buttons?: { type: string; text: string; url?: string; phone_number?: string; otp_type?: string; example?: string[] }[]
}
export interface TemplateWire {
  id: string
  name: string
  language: string
  category: 'MARKETING' | 'UTILITY' | 'AUTHENTICATION'
  status: 'APPROVED' | 'PENDING' | 'REJECTED' | 'PAUSED' | 'DISABLED'
  components: TemplateComponentWire[]
  /** Why it was rejected (e.g. INVALID_FORMAT); absent otherwise. */
  reason?: string
  /** GREEN, YELLOW, RED, or UNKNOWN until enough of its messages were sent. */
  quality?: 'GREEN' | 'YELLOW' | 'RED' | 'UNKNOWN'
  parameterFormat?: 'POSITIONAL' | 'NAMED'
}
export interface TemplatesDeleteResult {
  deleted: string[]
}
export interface TemplatesGetResult {
  namespace: string
  templates: TemplateWire[]
}

export interface EnvelopePush {
  v: typeof PROTOCOL_VERSION
  t: 'envelope'
  envelopeId: string
  from: string
  kind: 'prekey' | 'message'
  body: Uint8Array
  serverTimestamp: number
  /** To a business, from a user: the sender's BSUID towards this business. */
  fromUserId?: string
}

export interface ReceiptPush {
  v: typeof PROTOCOL_VERSION
  t: 'receipt'
  receiptId: string
  from: string
  kind: 'delivered' | 'read'
  envelopeIds: string[]
  timestamp: number
  /** To a business, from a user: the sender's BSUID towards this business. */
  fromUserId?: string
}

/** How long a typing indicator lasts unless a message from its sender ends it first (Meta: 25 s). */
export const TYPING_MS = 25_000

/** `from` is typing (a `typing.send` of theirs); shown until their next message or for TYPING_MS. */
export interface TypingPush {
  v: typeof PROTOCOL_VERSION
  t: 'typing'
  from: string
  timestamp: number
}

/** The server holds fewer one-time pre-keys than its threshold. */
export interface KeysLowPush {
  v: typeof PROTOCOL_VERSION
  t: 'keys.low'
  preKeysLeft: number
}

/** An envelope accepted earlier failed later (e.g. expired undelivered). */
export interface EnvelopeFailedPush {
  v: typeof PROTOCOL_VERSION
  t: 'envelope.failed'
  envelopeId: string
  to: string
  error: WireError
}

/**
 * Something about the business's own account changed on the network (a template's review or
 * quality, the number's quality or tier, ...). `field` is the Cloud webhook field it becomes
 * (`message_template_status_update`, `phone_number_quality_update`, `account_update`, ...)
 * and `value` that notification's `value`. Stored until acked with `account.update.ack`;
 * pushed to shard 0 of the business, again after each login until acked.
 */
export interface AccountUpdatePush {
  v: typeof PROTOCOL_VERSION
  t: 'account.update'
  updateId: string
  field: string
  value: Record<string, unknown>
  timestamp: number
}

export type ServerFrame = Ack | EnvelopePush | ReceiptPush | TypingPush | KeysLowPush | EnvelopeFailedPush | AccountUpdatePush
