import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'

/*
 * Frozen migrations of the network database. Never edit a migration that has shipped;
 * add a new one. They take Kysely<any> on purpose: they must not follow later schema types.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
const m0001_initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('accounts')
      .addColumn('wa_id', 'text', (c) => c.primaryKey())
      .addColumn('cc', 'text', (c) => c.notNull())
      .addColumn('phone', 'text', (c) => c.notNull())
      .addColumn('business', 'integer', (c) => c.notNull())
      .addColumn('vname', 'text')
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('pin_hash', 'text')
      .addColumn('template_namespace', 'text')
      .addColumn('tier', 'text')
      .addColumn('registered_at', 'integer', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('registration_codes')
      .addColumn('wa_id', 'text', (c) => c.primaryKey())
      .addColumn('cc', 'text', (c) => c.notNull())
      .addColumn('phone', 'text', (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('vname', 'text')
      .addColumn('issued_at', 'integer', (c) => c.notNull())
      .addColumn('used_at', 'integer')
      .execute()

    await db.schema
      .createTable('identity_keys')
      .addColumn('wa_id', 'text', (c) => c.primaryKey())
      .addColumn('registration_id', 'integer', (c) => c.notNull())
      .addColumn('identity_key', 'blob', (c) => c.notNull())
      .addColumn('signed_pre_key_id', 'integer', (c) => c.notNull())
      .addColumn('signed_pre_key', 'blob', (c) => c.notNull())
      .addColumn('signed_pre_key_signature', 'blob', (c) => c.notNull())
      .addColumn('kyber_pre_key_id', 'integer', (c) => c.notNull())
      .addColumn('kyber_pre_key', 'blob', (c) => c.notNull())
      .addColumn('kyber_pre_key_signature', 'blob', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('one_time_pre_keys')
      .addColumn('wa_id', 'text', (c) => c.notNull())
      .addColumn('key_id', 'integer', (c) => c.notNull())
      .addColumn('public_key', 'blob', (c) => c.notNull())
      .addPrimaryKeyConstraint('one_time_pre_keys_pk', ['wa_id', 'key_id'])
      .modifyEnd(sql`without rowid`)
      .execute()

    await db.schema
      .createTable('kyber_pre_keys')
      .addColumn('wa_id', 'text', (c) => c.notNull())
      .addColumn('key_id', 'integer', (c) => c.notNull())
      .addColumn('public_key', 'blob', (c) => c.notNull())
      .addColumn('signature', 'blob', (c) => c.notNull())
      .addPrimaryKeyConstraint('kyber_pre_keys_pk', ['wa_id', 'key_id'])
      .modifyEnd(sql`without rowid`)
      .execute()

    // AUTOINCREMENT: a plain rowid may reuse the seq of a deleted last row, and delivery
    // cursors rely on seq only ever growing.
    await db.schema
      .createTable('inbox')
      .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('recipient', 'text', (c) => c.notNull())
      .addColumn('route_hash', 'integer', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('item_id', 'text', (c) => c.notNull())
      .addColumn('sender', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('body', 'blob')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('inbox_recipient_seq').on('inbox').columns(['recipient', 'seq']).execute()
    await db.schema.createIndex('inbox_recipient_item').on('inbox').columns(['recipient', 'item_id']).execute()
    await db.schema.createIndex('inbox_created_at').on('inbox').column('created_at').execute()

    await db.schema
      .createTable('sent_envelopes')
      .addColumn('sender', 'text', (c) => c.notNull())
      .addColumn('envelope_id', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('server_ts', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('sent_envelopes_pk', ['sender', 'envelope_id'])
      .modifyEnd(sql`without rowid`)
      .execute()
    await db.schema.createIndex('sent_envelopes_server_ts').on('sent_envelopes').column('server_ts').execute()

    await db.schema
      .createTable('blobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'integer', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('blobs_expires_at').on('blobs').column('expires_at').execute()

    await db.schema
      .createTable('templates')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('wa_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('language', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('components', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'integer', (c) => c.notNull())
      .addUniqueConstraint('templates_name_language', ['wa_id', 'name', 'language'])
      .execute()

    await db.schema
      .createTable('blocks')
      .addColumn('business', 'text', (c) => c.notNull())
      .addColumn('user', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('blocks_pk', ['business', 'user'])
      .execute()

    await db.schema
      .createTable('feedback')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('business', 'text', (c) => c.notNull())
      .addColumn('user', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('at', 'integer', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('feedback_business_at').on('feedback').columns(['business', 'at']).execute()

    await db.schema
      .createTable('initiated_users')
      .addColumn('business', 'text', (c) => c.notNull())
      .addColumn('user', 'text', (c) => c.notNull())
      .addColumn('last_at', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('initiated_users_pk', ['business', 'user'])
      .execute()

    await db.schema
      .createTable('conversations')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('business', 'text', (c) => c.notNull())
      .addColumn('user', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('opened_at', 'integer', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('conversations_business_opened').on('conversations').columns(['business', 'opened_at']).execute()
  },
}

/** Template review and quality: parameter format, quality score, the pause ladder, the review's due time. */
const m0002_template_quality: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('templates').addColumn('parameter_format', 'text').execute()
    await db.schema.alterTable('templates').addColumn('quality', 'text').execute()
    await db.schema.alterTable('templates').addColumn('pauses', 'integer', (c) => c.notNull().defaultTo(0)).execute()
    await db.schema.alterTable('templates').addColumn('paused_until', 'integer').execute()
    await db.schema.alterTable('templates').addColumn('review_at', 'integer').execute()
    await db.schema.alterTable('templates').addColumn('edited_at', 'integer').execute()
  },
}
/** Business portfolios: the numbers that share one messaging limit (domain/messaging-tiers.ts). */
const m0003_portfolios: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('portfolios')
      .addColumn('wa_id', 'text', (c) => c.primaryKey())
      .addColumn('portfolio', 'text', (c) => c.notNull())
      .execute()
  },
}
/** WABAs: each business number's, and the one each template belongs to (waba-members.ts). */
const m0004_waba_members: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('waba_members')
      .addColumn('wa_id', 'text', (c) => c.primaryKey())
      .addColumn('waba', 'text', (c) => c.notNull())
      .execute()
    await db.schema.alterTable('templates').addColumn('waba', 'text').execute()
    await db.schema.createIndex('templates_waba').on('templates').column('waba').execute()
  },
}
/* eslint-enable @typescript-eslint/no-explicit-any */

const migrations: Record<string, Migration> = {
  '0001_initial': m0001_initial,
  '0002_template_quality': m0002_template_quality,
  '0003_portfolios': m0003_portfolios,
  '0004_waba_members': m0004_waba_members,
}

export const networkMigrations: MigrationProvider = {
  getMigrations: async () => migrations,
}
