import type { Selectable } from 'kysely'
import type { KeysUpload, PreKeyBundleWire } from '../wire/frames.js'
import type { NetworkDb, RawSqlite } from './database.js'
import type { IdentityKeysTable } from './schema.js'
import { WireFailure } from './wire-failure.js'
import type { Trx, WriteBatcher } from './write-batcher.js'

/** Every account is one device: the bundle's deviceId is always 1. */
const DEVICE_ID = 1

type IdentityRow = Selectable<IdentityKeysTable>

/** `keys.get`: the identity, the lowest one-time EC and Kyber keys (taken), and the EC keys left. */
const TAKE = {
  identity: 'SELECT * FROM identity_keys WHERE wa_id = ?',
  preKey: `DELETE FROM one_time_pre_keys WHERE wa_id = ? AND key_id = (SELECT min(key_id) FROM one_time_pre_keys WHERE wa_id = ?)
    RETURNING key_id, public_key`,
  kyber: `DELETE FROM kyber_pre_keys WHERE wa_id = ? AND key_id = (SELECT min(key_id) FROM kyber_pre_keys WHERE wa_id = ?)
    RETURNING key_id, public_key, signature`,
  left: 'SELECT count(*) AS n FROM one_time_pre_keys WHERE wa_id = ?',
}

/**
 * The public pre-key directory: identity key, signed pre-key, one-time EC pre-keys and
 * Kyber pre-keys (one-time, plus a last-resort key used when those run out).
 */
export class KeyDirectory {
  readonly #db: NetworkDb
  readonly #raw: RawSqlite
  readonly #batcher: WriteBatcher

  /** `raw` is `db`'s connection: its statements run in the batcher's transaction. */
  constructor(db: NetworkDb, raw: RawSqlite, batcher: WriteBatcher) {
    this.#db = db
    this.#raw = raw
    this.#batcher = batcher
  }

  /** Replaces the signed keys and adds the one-time keys; a new identity key drops the old one-time keys. */
  upload(waId: string, frame: KeysUpload): Promise<{ preKeysLeft: number }> {
    return this.#batcher.run(async (trx) => {
      const current = await trx.selectFrom('identity_keys').select('identity_key').where('wa_id', '=', waId).executeTakeFirst()
      if (current && !Buffer.from(current.identity_key).equals(frame.identityKey)) await deleteOneTimeKeys(trx, waId)
      const identity = {
        wa_id: waId,
        registration_id: frame.registrationId,
        identity_key: frame.identityKey,
        signed_pre_key_id: frame.signedPreKey.id,
        signed_pre_key: frame.signedPreKey.publicKey,
        signed_pre_key_signature: frame.signedPreKey.signature,
        kyber_pre_key_id: frame.kyberPreKey.id,
        kyber_pre_key: frame.kyberPreKey.publicKey,
        kyber_pre_key_signature: frame.kyberPreKey.signature,
      }
      await trx
        .insertInto('identity_keys')
        .values(identity)
        .onConflict((oc) => oc.column('wa_id').doUpdateSet(identity))
        .execute()
      if (frame.preKeys.length > 0) {
        await trx
          .insertInto('one_time_pre_keys')
          .values(frame.preKeys.map((k) => ({ wa_id: waId, key_id: k.id, public_key: k.publicKey })))
          .onConflict((oc) => oc.columns(['wa_id', 'key_id']).doUpdateSet((eb) => ({ public_key: eb.ref('excluded.public_key') })))
          .execute()
      }
      if (frame.kyberPreKeys.length > 0) {
        await trx
          .insertInto('kyber_pre_keys')
          .values(frame.kyberPreKeys.map((k) => ({ wa_id: waId, key_id: k.id, public_key: k.publicKey, signature: k.signature })))
          .onConflict((oc) =>
            oc.columns(['wa_id', 'key_id']).doUpdateSet((eb) => ({ public_key: eb.ref('excluded.public_key'), signature: eb.ref('excluded.signature') })),
          )
          .execute()
      }
      return { preKeysLeft: await countPreKeys(trx, waId) }
    })
  }

  /** Hands out a bundle, consuming one one-time EC pre-key and one one-time Kyber key when there are any. */
  take(waId: string): Promise<{ bundle: PreKeyBundleWire; preKeysLeft: number }> {
    // A new user's first message costs one of these: raw statements, not four queries built each time.
    return this.#batcher.run(async () => {
      const identity = this.#raw.prepare(TAKE.identity).all([waId])[0] as IdentityRow | undefined
      if (!identity) throw new WireFailure('not_found', `${waId} has not uploaded keys`)
      const preKey = this.#raw.prepare(TAKE.preKey).all([waId, waId])[0] as { key_id: number; public_key: Uint8Array } | undefined
      const kyber = this.#raw.prepare(TAKE.kyber).all([waId, waId])[0] as { key_id: number; public_key: Uint8Array; signature: Uint8Array } | undefined
      const { n } = this.#raw.prepare(TAKE.left).all([waId])[0] as { n: number }
      const bundle: PreKeyBundleWire = {
        registrationId: identity.registration_id,
        deviceId: DEVICE_ID,
        identityKey: identity.identity_key,
        signedPreKey: { id: identity.signed_pre_key_id, publicKey: identity.signed_pre_key, signature: identity.signed_pre_key_signature },
        preKey: preKey ? { id: preKey.key_id, publicKey: preKey.public_key } : undefined,
        kyberPreKey: kyber
          ? { id: kyber.key_id, publicKey: kyber.public_key, signature: kyber.signature }
          : { id: identity.kyber_pre_key_id, publicKey: identity.kyber_pre_key, signature: identity.kyber_pre_key_signature },
      }
      return { bundle, preKeysLeft: n }
    })
  }

  async preKeysLeft(waId: string): Promise<number> {
    return countPreKeys(this.#db, waId)
  }

  /** Called when a number re-registers: its next device brings a new identity. */
  async forget(trx: Trx, waId: string): Promise<void> {
    await trx.deleteFrom('identity_keys').where('wa_id', '=', waId).execute()
    await deleteOneTimeKeys(trx, waId)
  }
}

/** The identity key `waId` uploaded last, if any: the network's mark of the device that holds the number. */
export async function storedIdentityKey(db: NetworkDb, waId: string): Promise<Uint8Array | undefined> {
  const row = await db.selectFrom('identity_keys').select('identity_key').where('wa_id', '=', waId).executeTakeFirst()
  return row?.identity_key
}

async function deleteOneTimeKeys(trx: Trx, waId: string): Promise<void> {
  await trx.deleteFrom('one_time_pre_keys').where('wa_id', '=', waId).execute()
  await trx.deleteFrom('kyber_pre_keys').where('wa_id', '=', waId).execute()
}

async function countPreKeys(db: NetworkDb | Trx, waId: string): Promise<number> {
  const row = await db.selectFrom('one_time_pre_keys').select((eb) => eb.fn.countAll<number>().as('n')).where('wa_id', '=', waId).executeTakeFirstOrThrow()
  return Number(row.n)
}
