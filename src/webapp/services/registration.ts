import { CloudCode, OnPremCode, WaboxError } from '../../errors/index.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import { verifyPassword } from '../../store/users.js'
import type { WebContext } from '../context.js'
import { TtlCache } from '../ttl-cache.js'
import { openBackup } from './backup-snapshot.js'

/** Where a log line about a registration goes (the request's logger). */
export interface RegistrationLog {
  info(obj: object, msg: string): void
}

export interface RegisterInput {
  /** The two-step PIN: checked when the number has one, set when it has none. */
  pin: string
  /** The On-Premises backup (`POST /v1/settings/backup`) that moves an On-Premises number to Cloud. */
  backup?: { data: string; password: string }
}

/** What a registration did; `downtimeMs` when it moved the number from On-Premises. */
export interface RegisterOutcome {
  migrated: boolean
  downtimeMs?: number
}

const isCloud = (number: PhoneNumberRow) => number.platform_type === 'CLOUD_API'

/** Whether each number was deregistered through the API, read on every send: cached per web app like its numbers. */
const deregistered = new WeakMap<WebContext, TtlCache<boolean>>()

function deregisteredCache(ctx: WebContext): TtlCache<boolean> {
  let cache = deregistered.get(ctx)
  if (!cache) {
    cache = new TtlCache(ctx.deps.clock, ctx.limits.lookupCacheMs, async (id) => (await ctx.store.management.get(id)).deregisteredAt !== null)
    deregistered.set(ctx, cache)
  }
  return cache
}

async function setDeregistered(ctx: WebContext, number: PhoneNumberRow, value: boolean): Promise<void> {
  await ctx.store.management.setDeregistered(number.id, value)
  deregisteredCache(ctx).clear()
}

/** 133010 for a Cloud number deregistered through the API (or never registered on the network). */
export async function requireRegistered(ctx: WebContext, number: PhoneNumberRow): Promise<void> {
  if (number.status === 'registered' && !(await deregisteredCache(ctx).get(number.id))) return
  throw new WaboxError(CloudCode.NOT_REGISTERED,
    `Phone number ${number.id} is not registered: register it with POST /{phone_number_id}/register {messaging_product, pin}`)
}

/** Meta has no way back from Cloud: an On-Premises registration or restore of a Cloud number is refused. */
export function refuseCloudToOnPrem(number: PhoneNumberRow): void {
  if (!isCloud(number)) return
  throw new WaboxError(OnPremCode.ACCESS_DENIED,
    `Phone number ${number.id} (+${number.wa_id}) was moved to the Cloud API (platform_type CLOUD_API); there is no way back to On-Premises, `
    + 'as with Meta: keep using it through the Cloud API', { httpStatus: 403 })
}

/** `request_code`: a code by SMS or voice for a number with its name certificate. */
export async function requestCode(ctx: WebContext, number: PhoneNumberRow, method: 'sms' | 'voice'): Promise<void> {
  if (!number.cert) {
    throw new WaboxError(CloudCode.INVALID_PARAMETER,
      `Phone number ${number.id} has no display name certificate yet; register it once with POST /v1/account (cert) or \`wabox provision\``)
  }
  await ctx.deps.bridge.requestCode(number.id, { cc: number.cc, phoneNumber: number.number, method, cert: number.cert })
}

/**
 * `verify_code`: the code of `request_code`. The number is then verified but not registered
 * for the API until `register` (as Meta's flow is), so it stays deregistered meanwhile.
 */
export async function verifyCode(ctx: WebContext, number: PhoneNumberRow, code: string): Promise<void> {
  if (number.status === 'registered') return
  if (number.status !== 'pending') {
    throw new WaboxError(CloudCode.CODE_VERIFICATION_FAILED, `No code was requested for phone number ${number.id}: call POST /{phone_number_id}/request_code first`)
  }
  try {
    await ctx.deps.bridge.verify(number.id, code)
  } catch (err) {
    if (err instanceof WaboxError && err.code === OnPremCode.PARAMETER_INVALID) {
      throw new WaboxError(CloudCode.CODE_VERIFICATION_FAILED, 'The verification code is wrong or expired; request another with POST /{phone_number_id}/request_code', { cause: err })
    }
    throw err
  }
  await setDeregistered(ctx, number, true)
}

/** Checks `pin` against the number's two-step PIN (`pinHash`), or sets it when there is none. */
async function checkOrSetPin(ctx: WebContext, number: PhoneNumberRow, pin: string, pinHash: string | null): Promise<void> {
  if (pinHash === null) return ctx.deps.bridge.setPin(number.id, pin)
  if (!(await verifyPassword(pin, pinHash))) {
    throw new WaboxError(CloudCode.PIN_MISMATCH, 'The two-step verification PIN does not match the one set for this phone number')
  }
}

/**
 * `register`: a verified Cloud number becomes usable through the API; with `backup`, an
 * On-Premises number of the same deployment moves to Cloud (see `migrate`).
 */
export async function registerNumber(ctx: WebContext, number: PhoneNumberRow, input: RegisterInput, log: RegistrationLog): Promise<RegisterOutcome> {
  if (!isCloud(number) && input.backup) return migrate(ctx, number, input.pin, input.backup, log)
  if (!isCloud(number)) {
    throw new WaboxError(CloudCode.INVALID_PARAMETER,
      `Phone number ${number.id} is hosted On-Premises: it moves to Cloud with its backup, register with backup {data, password} from POST /v1/settings/backup`)
  }
  if (number.status !== 'registered') {
    throw new WaboxError(CloudCode.REVERIFICATION_NEEDED,
      `Phone number ${number.id} is not verified: call POST /{phone_number_id}/request_code, then /verify_code, then register`)
  }
  await checkOrSetPin(ctx, number, input.pin, number.pin_hash)
  await setDeregistered(ctx, number, false)
  return { migrated: false }
}

/**
 * On-Premises → Cloud. The number stays the same row (same id, identity key, Signal sessions,
 * outbox), so phones see no change and queued messages go once; only its platform flips, and
 * with it the API that may send and the shape of its webhooks. The backup proves the caller
 * holds the On-Premises number; its two-step PIN must match. Downtime is the switch itself.
 */
async function migrate(ctx: WebContext, number: PhoneNumberRow, pin: string, backup: { data: string; password: string }, log: RegistrationLog): Promise<RegisterOutcome> {
  const snap = await openBackup(backup.data, backup.password)
  if (snap.number.wa_id !== number.wa_id) {
    throw new WaboxError(CloudCode.INVALID_PARAMETER, `Invalid parameter 'backup': it is the backup of +${snap.number.wa_id}, not of this phone number (+${number.wa_id})`)
  }
  if (number.status !== 'registered') {
    throw new WaboxError(CloudCode.NOT_REGISTERED, `Phone number ${number.id} is not registered On-Premises; only a registered number moves to Cloud`)
  }
  await checkOrSetPin(ctx, number, pin, number.pin_hash ?? snap.number.pin_hash)
  const { clock } = ctx.deps
  const start = clock.now()
  await ctx.store.transaction(async (tx) => {
    await tx.numbers.setHosting(number.id, { platformType: 'CLOUD_API' })
    await tx.management.markMigrated(number.id, start)
  })
  ctx.clearCaches()
  deregisteredCache(ctx).clear()
  const downtimeMs = clock.now() - start
  log.info({ phoneNumberId: number.id, waId: number.wa_id, downtimeMs }, `number moved from On-Premises to Cloud; it could not send for ${downtimeMs} ms`)
  return { migrated: true, downtimeMs }
}

/** `deregister`: the API refuses to send for the number (133010) until it registers again. */
export async function deregisterNumber(ctx: WebContext, number: PhoneNumberRow): Promise<void> {
  await setDeregistered(ctx, number, true)
}

/** Two-step verification: `POST /{phone_number_id}` `{pin}` sets (or changes) the PIN. */
export async function setTwoStepPin(ctx: WebContext, number: PhoneNumberRow, pin: string): Promise<void> {
  await ctx.deps.bridge.setPin(number.id, pin)
}
