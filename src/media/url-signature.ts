import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'

/**
 * Signs the short-lived download URLs of media (the Cloud dialect's `GET /{media_id}` answers
 * one): an HMAC of the media id and the expiry, under a key derived from the volume key, so a
 * URL cannot be forged, moved to another file or extended, and every process of a deployment
 * accepts the URLs the others made.
 */
export class MediaUrlSigner {
  readonly #key: Buffer

  constructor(volumeKey: Buffer) {
    this.#key = Buffer.from(hkdfSync('sha256', volumeKey, Buffer.alloc(0), 'wabox media url v1', 32))
  }

  /** The signature of a URL to `mediaId` valid until `expires` (unix seconds). */
  sign(mediaId: string, expires: number): string {
    return createHmac('sha256', this.#key).update(`${mediaId}\n${expires}`).digest('base64url')
  }

  /** True when `signature` is the one `sign` gives for these values (compared in constant time). */
  verify(mediaId: string, expires: number, signature: string): boolean {
    const expected = Buffer.from(this.sign(mediaId, expires))
    const given = Buffer.from(signature)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}
