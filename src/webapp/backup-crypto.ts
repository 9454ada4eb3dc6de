import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto'
import { OnPremCode, WaboxError } from '../errors/index.js'
import { invalid } from './errors.js'

/**
 * The `/v1/settings/backup` blob: JSON encrypted with a key derived from the caller's password
 * (scrypt → AES-256-GCM). Base64 of: "WBXB" | version | log2 N | salt (16) | iv (12) | tag (16) | ciphertext.
 */
const MAGIC = Buffer.from('WBXB')
const VERSION = 1
const LOG_N = 15
const HEADER = MAGIC.length + 2 + 16 + 12 + 16

function deriveKey(password: string, salt: Buffer, logN: number): Promise<Buffer> {
  const N = 1 << logN
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 }, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

export async function encryptBackup(value: unknown, password: string): Promise<string> {
  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const key = await deriveKey(password, salt, LOG_N)
  const header = Buffer.concat([MAGIC, Buffer.of(VERSION, LOG_N), salt, iv])
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(header)
  const body = Buffer.concat([cipher.update(JSON.stringify(value)), cipher.final()])
  return Buffer.concat([header, cipher.getAuthTag(), body]).toString('base64')
}

/** Throws 1009 on a blob that is not a wabox backup, 1005 when the password is wrong. */
export async function decryptBackup(data: string, password: string): Promise<unknown> {
  const buf = Buffer.from(data, 'base64')
  if (buf.length < HEADER || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw invalid('data', 'is not a backup made by POST /v1/settings/backup')
  }
  if (buf[MAGIC.length] !== VERSION) throw invalid('data', `backup format version ${buf[MAGIC.length]} is not supported`)
  const logN = buf[MAGIC.length + 1] ?? 0
  if (logN < 10 || logN > 20) throw invalid('data', 'the backup header is damaged')
  let at = MAGIC.length + 2
  const salt = buf.subarray(at, (at += 16))
  const iv = buf.subarray(at, (at += 12))
  const header = buf.subarray(0, at)
  const tag = buf.subarray(at, (at += 16))
  const key = await deriveKey(password, salt, logN)
  const decipher = createDecipheriv('aes-256-gcm', key, iv)
  decipher.setAAD(header)
  decipher.setAuthTag(tag)
  let plain: Buffer
  try {
    plain = Buffer.concat([decipher.update(buf.subarray(at)), decipher.final()])
  } catch {
    throw new WaboxError(OnPremCode.ACCESS_DENIED,
      'The backup cannot be decrypted: the password is not the one used for POST /v1/settings/backup, or the data was altered',
      { httpStatus: 400 })
  }
  try {
    return JSON.parse(plain.toString('utf8')) as unknown
  } catch {
    throw invalid('data', 'the decrypted backup is not valid JSON')
  }
}
