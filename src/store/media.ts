import type { MediaRow } from './schema.js'
import type { StoreContext } from './store.js'

export interface NewMediaRecord {
  id: string
  phoneNumberId: string
  mimeType: string
  size: number
  sha256: string
  filename: string | null
  /** out (uploaded by the business) | in (downloaded from a user) | profile (profile photo) */
  direction: string
  /** Path of the sealed file, relative to the media volume. */
  file: string
  expiresAt?: number | null
}

/** Rows describing the files of the media volume (`src/media/`). */
export class MediaRecords {
  constructor(private readonly ctx: StoreContext) {}

  async insert(m: NewMediaRecord): Promise<void> {
    await this.ctx.db.insertInto('media').values({
      id: m.id,
      phone_number_id: m.phoneNumberId,
      mime_type: m.mimeType,
      size: m.size,
      sha256: m.sha256,
      filename: m.filename,
      direction: m.direction,
      file: m.file,
      created_at: this.ctx.clock.now(),
      expires_at: m.expiresAt ?? null,
    }).execute()
  }

  get(id: string): Promise<MediaRow | undefined> {
    return this.ctx.db.selectFrom('media').selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** The row only if it belongs to that number and has not expired (housekeeping removes it within minutes). */
  getOwned(phoneNumberId: string, id: string): Promise<MediaRow | undefined> {
    return this.ctx.db.selectFrom('media').selectAll()
      .where('id', '=', id).where('phone_number_id', '=', phoneNumberId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', this.ctx.clock.now())]))
      .executeTakeFirst()
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.ctx.db.deleteFrom('media').where('id', '=', id).executeTakeFirst()
    return Number(result.numDeletedRows) === 1
  }

  /** Media past its expiry, oldest first (for a cleanup job). */
  expired(limit = 500): Promise<MediaRow[]> {
    return this.ctx.db.selectFrom('media').selectAll()
      .where('expires_at', 'is not', null).where('expires_at', '<=', this.ctx.clock.now())
      .orderBy('expires_at').limit(limit).execute()
  }
}
