import type { Kysely } from 'kysely'
import type { Clock } from '../clock.js'
import type { Database, Dialect } from './database.js'
import type { DB } from './schema.js'
import type { Sealer } from './sealer.js'
import { Callbacks } from './callbacks.js'
import { Messages } from './messages.js'
import { PhoneNumbers } from './phone-numbers.js'

/** What every repository needs: a connection (or open transaction), the sealer and the clock. */
export interface StoreContext {
  readonly db: Kysely<DB>
  readonly dialect: Dialect
  readonly sealer: Sealer
  readonly clock: Clock
}

/** All SQL of wabox lives behind this facade; `transaction` gives the same facade over one transaction. */
export class Store {
  readonly numbers: PhoneNumbers
  readonly messages: Messages
  readonly callbacks: Callbacks

  constructor(readonly ctx: StoreContext) {
    this.numbers = new PhoneNumbers(ctx)
    this.messages = new Messages(ctx)
    this.callbacks = new Callbacks(ctx)
  }

  get dialect(): Dialect {
    return this.ctx.dialect
  }

  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.ctx.db.transaction().execute((trx) => fn(new Store({ ...this.ctx, db: trx })))
  }

  static open(database: Database, sealer: Sealer, clock: Clock): Store {
    return new Store({ db: database.db, dialect: database.dialect, sealer, clock })
  }
}
