import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'

/**
 * JSON as Meta sends it: pure ASCII, every non-ASCII UTF-16 unit escaped as lower-case
 * `\uXXXX` (astral characters become surrogate pairs), and DEL too, as whatsapp-api-js's
 * `escapeUnicode` does. Verifiers that sign the raw body and verifiers that re-escape it
 * first then compute the same HMAC.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'))
}

/** A secret as an HMAC key, made once: a string secret is converted again on every signature. */
export function signingKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'))
}

/** `X-Hub-Signature-256` value for the exact bytes sent. */
export function signatureHeader(body: Uint8Array | string, secret: string | KeyObject): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex')
}

/** Receiver side: true when `header` is the signature of `rawBody` under `secret`. */
export function verifySignature(rawBody: Uint8Array | string, header: string | undefined, secret: string): boolean {
  if (!header?.startsWith('sha256=')) return false
  const expected = Buffer.from(signatureHeader(rawBody, secret))
  const given = Buffer.from(header)
  return expected.length === given.length && timingSafeEqual(expected, given)
}
