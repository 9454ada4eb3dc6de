import { Readable } from 'node:stream'
import { request, errors } from 'undici'
import type { WireErrorCode } from './frames.js'
import { WireRequestError } from './request-error.js'

/**
 * A blob call fails after this long without progress (no bytes taken or given, no answer): the
 * WebSocket notices a frozen network by ping within 15–30 s, and blob calls as soon. Progress is
 * timed rather than the whole call, so a 100 MB blob on a slow but live link still goes through.
 */
export const BLOB_IDLE_TIMEOUT_MS = 30_000

/** Upload bodies go in pieces of this size: undici restarts its wait for the answer as each one is taken. */
const UPLOAD_CHUNK_BYTES = 64 * 1024

export interface BlobTarget {
  /** `http://host:port` of the network. */
  base: string
  authorization: string
  idleTimeoutMs: number
}

export async function uploadBlob(target: BlobTarget, bytes: Uint8Array): Promise<string> {
  return timed('upload', target.idleTimeoutMs, async () => {
    const res = await request(`${target.base}/blobs`, {
      method: 'POST',
      headers: { authorization: target.authorization, 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) },
      body: Readable.from(chunks(bytes)),
      headersTimeout: target.idleTimeoutMs,
      bodyTimeout: target.idleTimeoutMs,
    })
    if (res.statusCode !== 200) throw await httpError(res.statusCode, res.body)
    const { blobId } = (await res.body.json()) as { blobId: string }
    return blobId
  })
}

export async function downloadBlob(target: BlobTarget, blobId: string): Promise<Uint8Array> {
  return timed('download', target.idleTimeoutMs, async () => {
    const res = await request(`${target.base}/blobs/${encodeURIComponent(blobId)}`, {
      headers: { authorization: target.authorization },
      headersTimeout: target.idleTimeoutMs,
      bodyTimeout: target.idleTimeoutMs,
    })
    if (res.statusCode !== 200) throw await httpError(res.statusCode, res.body)
    return new Uint8Array(await res.body.arrayBuffer())
  })
}

function* chunks(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += UPLOAD_CHUNK_BYTES) yield bytes.subarray(at, at + UPLOAD_CHUNK_BYTES)
}

/** Undici's timeout errors in words; they stay plain errors, which callers retry like a dropped connection. */
async function timed<T>(what: string, idleTimeoutMs: number, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) {
      throw new Error(`blob ${what}: the network made no progress for ${idleTimeoutMs} ms`, { cause: err })
    }
    throw err
  }
}

async function httpError(status: number, body: { text(): Promise<string> }): Promise<WireRequestError> {
  const text = await body.text()
  try {
    const { error } = JSON.parse(text) as { error: { code: WireErrorCode; message: string } }
    return new WireRequestError(error.code, error.message)
  } catch {
    return new WireRequestError(status === 401 ? 'unauthorized' : status === 404 ? 'not_found' : 'internal', `HTTP ${status}: ${text}`)
  }
}
