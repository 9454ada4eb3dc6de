import { randomBytes, timingSafeEqual } from 'node:crypto'
import { graphId } from './graph-ids.js'
import type { AppRow } from './cloud-schema.js'
import type { StoreContext } from './store.js'

export interface AppInfo {
  id: string
  name: string
  createdAt: number
}

export interface NewApp {
  /** A numeric id; one is generated when absent. */
  id?: string
  name: string
}

/** Meta-style apps: an id and a secret; the secret is sealed at rest and signs Cloud webhooks. */
export class Apps {
  constructor(private readonly ctx: StoreContext) {}

  /** Creates an app; returns it with its secret (readable again later through `secret`). */
  async create(input: NewApp): Promise<AppInfo & { secret: string }> {
    const id = input.id ?? graphId()
    if (!/^[0-9]{1,32}$/.test(id)) throw new Error(`An app id is a numeric string; got '${id}'`)
    // 32 hex characters, as Meta's app secrets
    const secret = randomBytes(16).toString('hex')
    const createdAt = this.ctx.clock.now()
    await this.ctx.db.insertInto('apps').values({
      id, name: input.name, app_secret: this.ctx.sealer.seal(secret), subscription: null, subscription_fields: null, created_at: createdAt,
    }).execute()
    return { id, name: input.name, createdAt, secret }
  }

  async get(id: string): Promise<AppInfo | undefined> {
    const row = await this.ctx.db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toInfo(row)
  }

  async list(): Promise<AppInfo[]> {
    const rows = await this.ctx.db.selectFrom('apps').selectAll().orderBy('created_at').orderBy('id').execute()
    return rows.map(toInfo)
  }

  /** The app secret in clear (to show the operator, or to sign); undefined for an unknown app. */
  async secret(id: string): Promise<string | undefined> {
    const row = await this.ctx.db.selectFrom('apps').select('app_secret').where('id', '=', id).executeTakeFirst()
    return row && this.openSecret(row.app_secret)
  }

  openSecret(sealed: Uint8Array): string {
    return this.ctx.sealer.open(sealed).toString('utf8')
  }

  /**
   * The app an app access token `<app_id>|<app_secret>` stands for, or undefined when the
   * token is not one, names no app or carries another secret.
   */
  async verifyToken(token: string): Promise<{ appId: string } | undefined> {
    const match = /^([0-9]{1,32})\|(.+)$/.exec(token)
    if (!match) return undefined
    const [, appId = '', given = ''] = match
    const secret = await this.secret(appId)
    if (secret === undefined) return undefined
    const a = Buffer.from(secret)
    const b = Buffer.from(given)
    return a.length === b.length && timingSafeEqual(a, b) ? { appId } : undefined
  }
}

function toInfo(row: AppRow): AppInfo {
  return { id: row.id, name: row.name, createdAt: row.created_at }
}
