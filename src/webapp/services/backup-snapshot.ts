import { checkNesting, isObject } from '../../domain/message/fields.js'
import type { NumberSnapshot } from '../../store/profile.js'
import { decryptBackup } from '../backup-crypto.js'
import { invalid } from '../errors.js'

/** The decrypted backup must be a snapshot this version understands. */
function asSnapshot(value: unknown): NumberSnapshot {
  const bad = () => invalid('data', 'the decrypted backup is not a wabox settings backup')
  // the decrypted JSON is the caller's: bound it before the store stringifies parts of it
  checkNesting(value, 'data')
  if (!isObject(value) || value.version !== 1 || !isObject(value.number) || !isObject(value.profile)) throw bad()
  const n = value.number
  for (const key of ['cc', 'number', 'wa_id', 'display_name', 'status']) if (typeof n[key] !== 'string') throw bad()
  if (typeof n.shard_count !== 'number') throw bad()
  return value as unknown as NumberSnapshot
}

/**
 * The number snapshot in a `POST /v1/settings/backup` blob: 1009 when it is no such backup,
 * 1005 when the password is not the one it was made with.
 */
export async function openBackup(data: string, password: string): Promise<NumberSnapshot> {
  return asSnapshot(await decryptBackup(data, password))
}
