import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { countryOfWaId } from '../domain/calling-codes.js'
import type { Account } from './accounts.js'

const KEY_FILE = 'user-id-secret'
const BLOCK = 16
/** The first half of a sealed block is zero: a number that is none of a business's ids opens to anything else. */
const MARK = Buffer.alloc(8)
const DIGITS = /^[A-Z]{2}\.([0-9]{1,39})$/
/** Ids kept computed (oldest dropped first); each is under 100 bytes. */
const MAX_CACHED_IDS = 100_000

/**
 * Business-scoped user ids (BSUIDs): the network plays Meta and gives each (business number,
 * user) pair a stable id, `CC.` + digits, CC the country of the user's number. The digits are
 * the user's wa_id sealed in one AES-128 block under a key of that business, derived from the
 * network's secret (kept in the data directory, mode 0600). So the same pair gets the same id
 * after a restart; another business gets an unrelated id for the same user and cannot turn it
 * into the number; a user who changes number gets a new id; and the network resolves an id
 * back by opening it, with no table to keep.
 */
export class UserIds {
  readonly #secret: Buffer
  readonly #account: (waId: string) => Account | undefined
  readonly #keys = new Map<string, Buffer>()
  readonly #ids = new Map<string, string>()

  constructor(secret: Buffer, account: (waId: string) => Account | undefined) {
    this.#secret = secret
    this.#account = account
  }

  /** The network's ids, with the secret created on first start. */
  static load(dataDir: string, account: (waId: string) => Account | undefined): UserIds {
    const file = path.join(dataDir, KEY_FILE)
    if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' })
    return new UserIds(fs.readFileSync(file), account)
  }

  /** The id of user `user` (a wa_id) towards business number `business`. */
  of(business: string, user: string): string {
    // every push to a business and every send from one names an id, and sealing one builds an AES cipher
    const key = `${business}\0${user}`
    let id = this.#ids.get(key)
    if (id === undefined) {
      id = this.#seal(business, user)
      this.#ids.set(key, id)
      if (this.#ids.size > MAX_CACHED_IDS) this.#ids.delete(this.#ids.keys().next().value!)
    }
    return id
  }

  #seal(business: string, user: string): string {
    const block = Buffer.alloc(BLOCK)
    block.writeBigUInt64BE(BigInt(user), 8)
    const cipher = createCipheriv('aes-128-ecb', this.#key(business), null).setAutoPadding(false)
    const sealed = Buffer.concat([cipher.update(block), cipher.final()])
    return `${countryOfWaId(user)}.${BigInt(`0x${sealed.toString('hex')}`).toString()}`
  }

  /** The id `counterparty` has towards `account`, when the account is a business and the counterparty one of its users. */
  towards(account: Account, counterparty: string): string | undefined {
    if (!account.business || this.#account(counterparty)?.business !== false) return undefined
    return this.of(account.waId, counterparty)
  }

  /** The registered user behind `userId` as `business` knows it; undefined if it is none of that business's ids. */
  resolve(business: string, userId: string): string | undefined {
    const digits = DIGITS.exec(userId)?.[1]
    if (digits === undefined) return undefined
    const value = BigInt(digits)
    if (value >= 1n << 128n) return undefined
    const decipher = createDecipheriv('aes-128-ecb', this.#key(business), null).setAutoPadding(false)
    const block = Buffer.concat([decipher.update(Buffer.from(value.toString(16).padStart(BLOCK * 2, '0'), 'hex')), decipher.final()])
    if (!block.subarray(0, 8).equals(MARK)) return undefined
    const user = block.readBigUInt64BE(8).toString()
    // the one spelling this network issues (no leading zeros, the right country), and a user still on it
    if (this.of(business, user) !== userId || this.#account(user)?.business !== false) return undefined
    return user
  }

  #key(business: string): Buffer {
    let key = this.#keys.get(business)
    if (!key) {
      key = createHmac('sha256', this.#secret).update(`bsuid\0${business}`).digest().subarray(0, BLOCK)
      this.#keys.set(business, key)
    }
    return key
  }
}
