import type { ApplicationSettings } from '../domain/settings.js'
import { PhoneNumbers } from './phone-numbers.js'
import type { NumberProfileRow } from './schema.js'
import type { StoreContext } from './store.js'

export const DEFAULT_ABOUT = 'Hey there! I am using WhatsApp.'

export interface BusinessProfile {
  address: string
  description: string
  email: string
  vertical: string
  websites: string[]
}

/** A media provider for `link` sends that need credentials (onprem-api.md §4). */
export interface MediaProvider {
  name: string
  type: string
  config: { bearer?: string; basic?: { username: string; password: string } }
}

export interface NumberProfile {
  about: string
  photoMediaId: string | null
  business: BusinessProfile
}

/** What a backup carries for one number: settings and registration, not messages or media. */
export interface NumberSnapshot {
  version: 1
  number: {
    cc: string
    number: string
    wa_id: string
    display_name: string
    status: string
    shard_count: number
    cert: string | null
    pin_hash: string | null
    /** Unsealed for the backup, which is encrypted as a whole with the caller's password. */
    network_secret: string | null
    webhook_secret: string | null
    webhook_ca: string | null
  }
  settings: unknown
  profile: { about: string | null; business: Partial<BusinessProfile> | null; mediaProviders: MediaProvider[] }
}

const EMPTY_BUSINESS: BusinessProfile = { address: '', description: '', email: '', vertical: '', websites: [] }

/** Profile (about, photo), business profile and media providers of a number. */
export class NumberProfiles {
  // settings are (un)sealed the one way the numbers repository does it
  readonly #numbers: PhoneNumbers

  constructor(private readonly ctx: StoreContext) {
    this.#numbers = new PhoneNumbers(ctx)
  }

  private row(phoneNumberId: string): Promise<NumberProfileRow | undefined> {
    return this.ctx.db.selectFrom('number_profiles').selectAll().where('phone_number_id', '=', phoneNumberId).executeTakeFirst()
  }

  private async upsert(phoneNumberId: string, fields: Partial<Omit<NumberProfileRow, 'phone_number_id' | 'updated_at'>>): Promise<void> {
    const now = this.ctx.clock.now()
    await this.ctx.engine.upsert(this.ctx.db.insertInto('number_profiles').values({
      phone_number_id: phoneNumberId,
      about: null,
      photo_media_id: null,
      business_profile: null,
      media_providers: null,
      ...fields,
      updated_at: now,
    }), ['phone_number_id'], () => ({ ...fields, updated_at: now })).execute()
  }

  async get(phoneNumberId: string): Promise<NumberProfile> {
    const row = await this.row(phoneNumberId)
    const business = row?.business_profile ? (JSON.parse(row.business_profile) as Partial<BusinessProfile>) : {}
    return {
      about: row?.about ?? DEFAULT_ABOUT,
      photoMediaId: row?.photo_media_id ?? null,
      business: { ...EMPTY_BUSINESS, ...business },
    }
  }

  async setAbout(phoneNumberId: string, text: string): Promise<void> {
    await this.upsert(phoneNumberId, { about: text })
  }

  /** Sets (or clears) the photo; returns the previous photo's media id so it can be deleted. */
  async setPhoto(phoneNumberId: string, mediaId: string | null): Promise<string | null> {
    const previous = (await this.row(phoneNumberId))?.photo_media_id ?? null
    await this.upsert(phoneNumberId, { photo_media_id: mediaId })
    return previous
  }

  /** Merges the given fields over the stored business profile. */
  async updateBusiness(phoneNumberId: string, fields: Partial<BusinessProfile>): Promise<BusinessProfile> {
    const current = (await this.get(phoneNumberId)).business
    const next = { ...current, ...fields }
    await this.upsert(phoneNumberId, { business_profile: JSON.stringify(next) })
    return next
  }

  async mediaProviders(phoneNumberId: string): Promise<MediaProvider[]> {
    const row = await this.row(phoneNumberId)
    return row?.media_providers ? this.ctx.sealer.openJson<MediaProvider[]>(row.media_providers) : []
  }

  async saveMediaProviders(phoneNumberId: string, providers: MediaProvider[]): Promise<void> {
    await this.upsert(phoneNumberId, { media_providers: this.ctx.sealer.sealJson(providers) })
  }

  async exportSnapshot(phoneNumberId: string): Promise<NumberSnapshot | undefined> {
    const n = await this.ctx.db.selectFrom('phone_numbers').selectAll().where('id', '=', phoneNumberId).executeTakeFirst()
    if (!n) return undefined
    const row = await this.row(phoneNumberId)
    const open = (b: Buffer | null) => (b ? this.ctx.sealer.open(b).toString('base64') : null)
    return {
      version: 1,
      number: {
        cc: n.cc, number: n.number, wa_id: n.wa_id, display_name: n.display_name, status: n.status,
        shard_count: n.shard_count, cert: n.cert, pin_hash: n.pin_hash,
        network_secret: open(n.network_secret), webhook_secret: open(n.webhook_secret), webhook_ca: n.webhook_ca ?? null,
      },
      // unsealed: another deployment's at-rest key could not open them
      settings: this.#numbers.storedSettings(n),
      profile: {
        about: row?.about ?? null,
        business: row?.business_profile ? (JSON.parse(row.business_profile) as Partial<BusinessProfile>) : null,
        mediaProviders: row?.media_providers ? this.ctx.sealer.openJson<MediaProvider[]>(row.media_providers) : [],
      },
    }
  }

  /** Writes a snapshot over an existing number row (run inside a transaction). */
  async importSnapshot(phoneNumberId: string, snap: NumberSnapshot): Promise<void> {
    const seal = (b64: string | null) => (b64 ? this.ctx.sealer.seal(Buffer.from(b64, 'base64')) : null)
    const n = snap.number
    await this.ctx.db.updateTable('phone_numbers').set({
      cc: n.cc, number: n.number, wa_id: n.wa_id, display_name: n.display_name, status: n.status,
      shard_count: n.shard_count, cert: n.cert, pin_hash: n.pin_hash,
      network_secret: seal(n.network_secret), webhook_secret: seal(n.webhook_secret), webhook_ca: n.webhook_ca,
      settings: this.#numbers.sealSettings((snap.settings ?? {}) as Partial<ApplicationSettings>),
      updated_at: this.ctx.clock.now(),
    }).where('id', '=', phoneNumberId).execute()
    await this.upsert(phoneNumberId, {
      about: snap.profile.about,
      business_profile: snap.profile.business ? JSON.stringify(snap.profile.business) : null,
      media_providers: this.ctx.sealer.sealJson(snap.profile.mediaProviders),
    })
  }
}
