import { sql } from 'kysely'
import { isContentReference, parseContentReference } from './regions.js'
import type { MediaRow } from './schema.js'
import type { StoreContext } from './store.js'

/** What a message's content becomes once retention removed it; the row keeps its metadata. */
export const PURGED_CONTENT = Object.freeze({ purged: true })

interface MetaTable {
  name: string
  value: Buffer
}

const WATERMARK = 'retention_watermark:'
const STATUS_WRITE_MARGIN_MS = 60_000

/** Up to where a number's content is purged, and when that pass began. */
interface Watermark {
  before: number
  passAt: number
}

/**
 * Retention (issue 17): removes message content, media rows and delivered callbacks of one
 * number older than a cut-off, in bounded batches. Ids, timestamps, statuses and pricing
 * category stay for billing and audit. Nothing still waiting for delivery is touched: queued
 * outbound messages keep their content and pending or dead callbacks their payload.
 */
export class RetentionRecords {
  constructor(private readonly ctx: StoreContext) {}

  /**
   * Replaces the content of the number's messages created before `before` with PURGED_CONTENT,
   * `batch` rows per statement; returns how many. A per-number watermark in `meta` keeps later
   * passes to what is new since: messages created after the last cut-off, and older ones whose
   * status changed since the last pass (a message queued then has been sent since).
   */
  async purgeMessageContent(phoneNumberId: string, before: number, batch: number): Promise<number> {
    const mark = await this.#watermark(phoneNumberId)
    // a status written by a slower process just before this pass began is still caught next time
    const passAt = this.ctx.clock.now() - STATUS_WRITE_MARGIN_MS
    const sealed = this.ctx.sealer.sealJson(PURGED_CONTENT)
    let purged = 0
    let after = { at: -1, seq: -1 }
    for (;;) {
      const cursor = after
      const rows = await this.ctx.db.selectFrom('messages').select(['id', 'seq', 'created_at'])
        .where('phone_number_id', '=', phoneNumberId).where('status', '!=', 'queued').where('created_at', '<', before)
        .where((eb) => eb.or([eb('created_at', '>=', mark.before), eb('updated_at', '>=', mark.passAt)]))
        .where((eb) => eb.or([eb('created_at', '>', cursor.at), eb.and([eb('created_at', '=', cursor.at), eb('seq', '>', cursor.seq)])]))
        .orderBy('created_at').orderBy('seq').limit(batch).execute()
      if (rows.length > 0) {
        await this.ctx.db.updateTable('messages').set({ content: sealed, callback_data: null })
          .where('id', 'in', rows.map((r) => r.id)).execute()
      }
      purged += rows.length
      if (rows.length < batch) break
      const last = rows[rows.length - 1]!
      after = { at: Number(last.created_at), seq: Number(last.seq) }
    }
    await this.purgeRegionContent(phoneNumberId, before, batch)
    await this.#setWatermark(phoneNumberId, { before: Math.max(before, mark.before), passAt })
    return purged
  }

  /**
   * The same cut-off in the number's region: its content written before `before` goes, except
   * what still waits for delivery (queued messages, pending or dead callbacks); orphans of a
   * crash between the region write and the home row go too. Returns how many region rows.
   */
  async purgeRegionContent(phoneNumberId: string, before: number, batch: number): Promise<number> {
    const region = await this.ctx.regions?.of(this.ctx.db, phoneNumberId)
    if (!region) return 0
    const keep = new Set<string>()
    const waiting = [
      ...(await this.ctx.db.selectFrom('messages').select(['content as a', 'callback_data as b'])
        .where('phone_number_id', '=', phoneNumberId).where('status', '=', 'queued').where('created_at', '<', before).execute()),
      ...(await this.ctx.db.selectFrom('callbacks').select(['payload as a', sql<null>`null`.as('b')])
        .where('phone_number_id', '=', phoneNumberId).where('status', 'in', ['pending', 'dead']).where('created_at', '<', before).execute()),
    ]
    for (const value of waiting.flatMap((r) => [r.a, r.b])) if (isContentReference(value)) keep.add(parseContentReference(value!).key)
    return region.purgeBefore(phoneNumberId, before, keep, batch)
  }

  /** Up to `limit` of the number's media created before `before`; a profile photo is no message content. */
  expiredMedia(phoneNumberId: string, before: number, limit: number): Promise<MediaRow[]> {
    return this.ctx.db.selectFrom('media').selectAll()
      .where('phone_number_id', '=', phoneNumberId).where('direction', '!=', 'profile').where('created_at', '<', before)
      .orderBy('created_at').limit(limit).execute()
  }

  async #watermark(phoneNumberId: string): Promise<Watermark> {
    const row = await this.#meta().selectFrom('meta').select('value').where('name', '=', WATERMARK + phoneNumberId).executeTakeFirst()
    return row ? (JSON.parse(Buffer.from(row.value).toString('utf8')) as Watermark) : { before: 0, passAt: 0 }
  }

  async #setWatermark(phoneNumberId: string, mark: Watermark): Promise<void> {
    const value = Buffer.from(JSON.stringify(mark), 'utf8')
    const db = this.#meta()
    const updated = await db.updateTable('meta').set({ value }).where('name', '=', WATERMARK + phoneNumberId).executeTakeFirst()
    if (Number(updated.numUpdatedRows) === 0) await this.ctx.engine.insertIgnore(db.insertInto('meta').values({ name: WATERMARK + phoneNumberId, value }), ['name']).execute()
  }

  #meta() {
    return this.ctx.db.withTables<{ meta: MetaTable }>()
  }
}
