import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { randomToken } from '../ids.js'
import type { UserRow } from './schema.js'
import type { StoreContext } from './store.js'

export type Role = 'ROLE_ADMIN' | 'ROLE_USER'

/** The built-in account of the On-Premises API; it cannot be deleted. */
export const DEFAULT_ADMIN = 'admin'
export const DEFAULT_ADMIN_PASSWORD = 'secret'

/** Bearer tokens from `/v1/users/login` last 7 days. */
export const TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000

export interface User {
  username: string
  role: Role
  /** false until the default password was changed. */
  passwordChanged: boolean
  phoneNumberId: string | null
}

export interface IssuedToken {
  token: string
  expiresAt: number
}

// N = 2^15, r = 8: 32 MiB and tens of milliseconds per hash; logins are rare.
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const
const KEY_BYTES = 32

function scryptAsync(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

/** `scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>`; parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, SCRYPT)
  return ['scrypt', Math.log2(SCRYPT.N), SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$')
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !logN || !r || !p || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64')
  const N = 1 << Number(logN)
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), {
    N, r: Number(r), p: Number(p), maxmem: Math.max(SCRYPT.maxmem, 256 * N * Number(r)),
  })
  return key.length === expected.length && timingSafeEqual(key, expected)
}

/** Tokens and API keys are long random strings: a plain sha256 is enough to store them. */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

function toUser(row: UserRow): User {
  return {
    username: row.username,
    role: row.role === 'ROLE_ADMIN' ? 'ROLE_ADMIN' : 'ROLE_USER',
    passwordChanged: row.password_changed === 1,
    phoneNumberId: row.phone_number_id,
  }
}

/** Users of `/v1/users` and their bearer tokens (stored as sha256 digests). */
export class Users {
  constructor(private readonly ctx: StoreContext) {}

  /** Creates `admin`/`secret` (password change pending) unless it exists. Safe to race. */
  async ensureDefaultAdmin(): Promise<void> {
    const existing = await this.ctx.db.selectFrom('users').select('username').where('username', '=', DEFAULT_ADMIN).executeTakeFirst()
    if (existing) return
    await this.ctx.engine.insertIgnore(this.ctx.db.insertInto('users').values({
      username: DEFAULT_ADMIN,
      password_hash: await hashPassword(DEFAULT_ADMIN_PASSWORD),
      role: 'ROLE_ADMIN',
      password_changed: 0,
      created_at: this.ctx.clock.now(),
      phone_number_id: null,
    }), ['username']).execute()
  }

  async get(username: string): Promise<User | undefined> {
    const row = await this.ctx.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst()
    return row && toUser(row)
  }

  /** The user if the password matches, else undefined. */
  async authenticate(username: string, password: string): Promise<User | undefined> {
    const row = await this.ctx.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst()
    if (!row) {
      // same cost as a real check, so response time does not reveal which usernames exist
      await verifyPassword(password, await dummyHash())
      return undefined
    }
    return (await verifyPassword(password, row.password_hash)) ? toUser(row) : undefined
  }

  /** false if the username is taken. */
  async create(input: { username: string; password: string; role?: Role; phoneNumberId?: string | null }): Promise<boolean> {
    const result = await this.ctx.engine.insertIgnore(this.ctx.db.insertInto('users').values({
      username: input.username,
      password_hash: await hashPassword(input.password),
      role: input.role ?? 'ROLE_USER',
      password_changed: 1,
      created_at: this.ctx.clock.now(),
      phone_number_id: input.phoneNumberId ?? null,
    }), ['username']).executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1
  }

  async setPassword(username: string, password: string): Promise<boolean> {
    const result = await this.ctx.db.updateTable('users')
      .set({ password_hash: await hashPassword(password), password_changed: 1 })
      .where('username', '=', username).executeTakeFirst()
    return Number(result.numUpdatedRows) === 1
  }

  /** Deletes the user and, with it, every token of the user. */
  async delete(username: string): Promise<boolean> {
    await this.ctx.db.deleteFrom('tokens').where('username', '=', username).execute()
    const result = await this.ctx.db.deleteFrom('users').where('username', '=', username).executeTakeFirst()
    return Number(result.numDeletedRows) === 1
  }

  async issueToken(username: string): Promise<IssuedToken> {
    const token = randomToken(32)
    const now = this.ctx.clock.now()
    const expiresAt = now + TOKEN_LIFETIME_MS
    await this.ctx.db.insertInto('tokens').values({ token_hash: secretDigest(token), username, expires_at: expiresAt, created_at: now }).execute()
    return { token, expiresAt }
  }

  /** The token's user while the token is valid and unexpired. */
  async verifyToken(token: string): Promise<User | undefined> {
    const row = await this.ctx.db.selectFrom('tokens')
      .innerJoin('users', 'users.username', 'tokens.username')
      .selectAll('users')
      .select('tokens.expires_at')
      .where('tokens.token_hash', '=', secretDigest(token))
      .executeTakeFirst()
    if (!row || row.expires_at <= this.ctx.clock.now()) return undefined
    return toUser(row)
  }

  /** Revokes one token; the user's other tokens stay valid. */
  async revokeToken(token: string): Promise<boolean> {
    const result = await this.ctx.db.deleteFrom('tokens').where('token_hash', '=', secretDigest(token)).executeTakeFirst()
    return Number(result.numDeletedRows) === 1
  }

  /**
   * The number unbound users act on: the first registered number, else the first created one.
   */
  async defaultPhoneNumberId(): Promise<string | undefined> {
    const row = await this.ctx.db.selectFrom('phone_numbers').select('id')
      .orderBy((eb) => eb.case().when('status', '=', 'registered').then(0).else(1).end())
      .orderBy('created_at').orderBy('id').limit(1).executeTakeFirst()
    return row?.id
  }

  /** Drops expired tokens; returns how many. */
  async purgeExpiredTokens(): Promise<number> {
    const result = await this.ctx.db.deleteFrom('tokens').where('expires_at', '<=', this.ctx.clock.now()).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}

let dummy: Promise<string> | undefined
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomToken())
  return dummy
}
