import { createHash, randomInt, randomUUID, scrypt as scryptCallback, timingSafeEqual, randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { normalizePhone } from '../domain/phone-number.js'
import { randomToken } from '../ids.js'
import type { ContactsCheckResult, RegisterRequest, RegisterRequestResult, RegisterVerify, RegisterVerifyResult } from '../wire/frames.js'
import type { NetworkDb } from './database.js'
import { storedIdentityKey } from './keys.js'
import { TIERS, type NetworkLimits, type Tier } from './options.js'
import type { AccountsTable } from './schema.js'
import type { VnameIssuer } from './vname.js'
import { WireFailure } from './wire-failure.js'
import type { Trx, WriteBatcher } from './write-batcher.js'

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>

export interface Account {
  waId: string
  cc: string
  phone: string
  business: boolean
  vname: string | null
  passwordHash: string
  pinHash: string | null
  templateNamespace: string | null
  tier: Tier | null
  registeredAt: number
}

export interface AccountsDeps {
  db: NetworkDb
  batcher: WriteBatcher
  clock: Clock
  logger: Logger
  limits: NetworkLimits
  vname: VnameIssuer
  /** Runs inside the registration transaction: drop what belonged to the previous device. */
  onReregister(trx: Trx, waId: string): Promise<void>
  /** After a (re-)registration committed: old sessions hold a dead password. */
  onRegistered(waId: string): void
}

/**
 * Registration (On-Prem flow: code request with vname certificate, verify with code and
 * optional two-step PIN), credentials, and the in-memory account directory every
 * request consults (the relay checks addressees on each envelope).
 */
export class Accounts {
  readonly #deps: AccountsDeps
  readonly #byWaId = new Map<string, Account>()

  private constructor(deps: AccountsDeps) {
    this.#deps = deps
  }

  static async load(deps: AccountsDeps): Promise<Accounts> {
    const accounts = new Accounts(deps)
    for (const row of await deps.db.selectFrom('accounts').selectAll().execute()) accounts.#remember(row)
    return accounts
  }

  get(waId: string): Account | undefined {
    return this.#byWaId.get(waId)
  }

  list(): Account[] {
    return [...this.#byWaId.values()]
  }

  /** The account whose password this is, or undefined. */
  authenticate(waId: string, password: string): Account | undefined {
    const account = this.#byWaId.get(waId)
    if (!account) return undefined
    const given = createHash('sha256').update(password).digest()
    return timingSafeEqual(given, Buffer.from(account.passwordHash, 'hex')) ? account : undefined
  }

  async requestCode(frame: RegisterRequest): Promise<RegisterRequestResult> {
    const { cc, phone } = frame
    const waId = waIdOf(cc, phone)
    await this.#refuseTakeover(waId, frame)
    let vname: string | null = null
    if (frame.cert) {
      vname = this.#deps.vname.verify(frame.cert, cc, phone) ?? null
      if (vname === null) throw new WireFailure('bad_certificate', 'the vname certificate is not valid for this number')
    } else if (this.#byWaId.get(waId)?.business) {
      throw new WireFailure('bad_certificate', 'a business number registers with its vname certificate')
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0')
    const row = { wa_id: waId, cc, phone, code, vname, issued_at: this.#deps.clock.now(), used_at: null }
    await this.#deps.batcher.run((trx) =>
      trx
        .insertInto('registration_codes')
        .values(row)
        .onConflict((oc) => oc.column('wa_id').doUpdateSet({ code, vname, issued_at: row.issued_at, used_at: null }))
        .execute(),
    )
    // The dev network "sends" the code to its log and the control API.
    this.#deps.logger.info({ cc, phone, method: frame.method, code }, 'registration code issued')
    return vname === null ? { status: 'code_sent' } : { status: 'code_sent', vname }
  }

  async verify(frame: RegisterVerify): Promise<RegisterVerifyResult> {
    const waId = waIdOf(frame.cc, frame.phone)
    await this.#refuseTakeover(waId, frame)
    const pending = await this.#pendingCode(waId)
    if (!pending || pending.code !== frame.code) throw new WireFailure('wrong_code', 'the registration code is wrong or expired')
    const existing = this.#byWaId.get(waId)
    if (existing?.pinHash) {
      if (!frame.pin) throw new WireFailure('pin_required', 'two-step verification is on: the PIN is required')
      if (!(await verifyPin(frame.pin, existing.pinHash))) throw new WireFailure('wrong_pin', 'the two-step PIN is wrong')
    }
    const password = randomToken(24)
    const business = pending.vname !== null
    const row: AccountsTable = {
      wa_id: waId,
      cc: frame.cc,
      phone: frame.phone,
      business: business ? 1 : 0,
      vname: pending.vname,
      password_hash: sha256Hex(password),
      pin_hash: existing?.pinHash ?? null,
      template_namespace: existing?.templateNamespace ?? (business ? randomUUID().replaceAll('-', '_') : null),
      tier: existing?.tier ?? null,
      registered_at: this.#deps.clock.now(),
    }
    await this.#deps.batcher.run(async (trx) => {
      // Re-checked in the transaction: two verifies of one code must not both win.
      const used = await trx.updateTable('registration_codes').set({ used_at: row.registered_at }).where('wa_id', '=', waId).where('code', '=', frame.code).where('used_at', 'is', null).executeTakeFirst()
      if (Number(used.numUpdatedRows) !== 1) throw new WireFailure('wrong_code', 'the registration code was already used')
      if (existing) await this.#deps.onReregister(trx, waId)
      await trx
        .insertInto('accounts')
        .values(row)
        .onConflict((oc) => oc.column('wa_id').doUpdateSet({ ...row }))
        .execute()
    })
    this.#remember(row)
    this.#deps.onRegistered(waId)
    const event = !existing ? 'account registered' : frame.migrate ? 'account migrated to a new device' : 'account re-registered'
    this.#deps.logger.info({ waId, business, vname: row.vname }, event)
    return { waId, password }
  }

  async setPin(waId: string, pin: string | null): Promise<void> {
    if (pin !== null && !/^\d{6}$/.test(pin)) throw new WireFailure('bad_request', 'the PIN is 6 digits')
    const pinHash = pin === null ? null : await hashPin(pin)
    await this.#deps.batcher.run((trx) => trx.updateTable('accounts').set({ pin_hash: pinHash }).where('wa_id', '=', waId).execute())
    const account = this.#byWaId.get(waId)
    if (account) account.pinHash = pinHash
  }

  async setTier(waId: string, tier: Tier): Promise<void> {
    const account = this.#byWaId.get(waId)
    if (!account) throw new WireFailure('not_found', `no account ${waId}`)
    if (!TIERS.includes(tier)) throw new WireFailure('bad_request', `tier is one of ${TIERS.join(', ')}`)
    await this.#deps.batcher.run((trx) => trx.updateTable('accounts').set({ tier }).where('wa_id', '=', waId).execute())
    account.tier = tier
  }

  /** Registered wa_ids among normalised phone numbers. */
  check(phones: string[]): ContactsCheckResult {
    return {
      results: phones.map((phone) => {
        const waId = normalizePhone(phone)
        const account = waId === undefined ? undefined : this.#byWaId.get(waId)
        return account ? { phone, waId: account.waId } : { phone }
      }),
    }
  }

  /** The last code issued for cc+phone (used or not), as the dev control API shows it. */
  async lastCode(cc: string, phone: string): Promise<string | undefined> {
    const row = await this.#deps.db.selectFrom('registration_codes').select('code').where('wa_id', '=', cc + phone).executeTakeFirst()
    return row?.code
  }

  /**
   * A business number whose device uploaded an identity key belongs to that device:
   * registering it again takes the same identity key, or `migrate: true` to move it. This
   * stops a second install from taking a number over by accident; the code and the PIN
   * authenticate. A consumer re-registers freely, as a reinstalled WhatsApp does.
   */
  async #refuseTakeover(waId: string, frame: { identityKey?: Uint8Array; migrate?: boolean }): Promise<void> {
    if (frame.migrate === true || !this.#byWaId.get(waId)?.business) return
    const held = await storedIdentityKey(this.#deps.db, waId)
    if (!held || (frame.identityKey && Buffer.from(held).equals(frame.identityKey))) return
    throw new WireFailure('registered_elsewhere', `+${waId} is registered on another device; register with migrate: true to move it to this one`)
  }

  async #pendingCode(waId: string) {
    const row = await this.#deps.db.selectFrom('registration_codes').selectAll().where('wa_id', '=', waId).executeTakeFirst()
    if (!row || row.used_at !== null || row.issued_at + this.#deps.limits.codeTtlMs <= this.#deps.clock.now()) return undefined
    return row
  }

  #remember(row: AccountsTable): void {
    this.#byWaId.set(row.wa_id, {
      waId: row.wa_id,
      cc: row.cc,
      phone: row.phone,
      business: row.business === 1,
      vname: row.vname,
      passwordHash: row.password_hash,
      pinHash: row.pin_hash,
      templateNamespace: row.template_namespace,
      tier: row.tier as Tier | null,
      registeredAt: row.registered_at,
    })
  }
}

/** Validates cc (1-3 digits) and phone (digits) and joins them into the wa_id. */
export function waIdOf(cc: string, phone: string): string {
  if (!/^[1-9]\d{0,2}$/.test(cc)) throw new WireFailure('bad_request', 'cc is 1 to 3 digits')
  if (!/^\d{4,14}$/.test(phone) || cc.length + phone.length > 15) throw new WireFailure('bad_request', 'phone is 4 to 14 digits, at most 15 with cc')
  return cc + phone
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

async function hashPin(pin: string): Promise<string> {
  const salt = randomBytes(16)
  const hash = await scrypt(pin, salt, 32)
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`
}

async function verifyPin(pin: string, stored: string): Promise<boolean> {
  const [, salt, hash] = stored.split('$')
  if (!salt || !hash) return false
  const expected = Buffer.from(hash, 'base64')
  return timingSafeEqual(await scrypt(pin, Buffer.from(salt, 'base64'), expected.length), expected)
}
