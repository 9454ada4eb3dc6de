import { generateKeyPairSync, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { decode, encode } from '@msgpack/msgpack'
import type { Clock } from '../clock.js'

const KEY_FILE = 'vname-signing-key.pem'

interface VnameDetails {
  v: 1
  issuer: 'wabox-network'
  cc: string
  phone: string
  name: string
  issuedAt: number
}

/**
 * Verified-name certificates: msgpack `{details: bin, signature: bin}`, where `details` is
 * msgpack VnameDetails and `signature` is Ed25519 over `details` with the network's key
 * (generated on first start, kept in the data directory with mode 0600).
 */
export class VnameIssuer {
  readonly #privateKey: KeyObject
  readonly #publicKey: KeyObject
  readonly #clock: Clock

  private constructor(privateKey: KeyObject, clock: Clock) {
    this.#privateKey = privateKey
    this.#publicKey = createPublicKey(privateKey)
    this.#clock = clock
  }

  static load(dataDir: string, clock: Clock): VnameIssuer {
    const file = path.join(dataDir, KEY_FILE)
    if (!fs.existsSync(file)) {
      const { privateKey } = generateKeyPairSync('ed25519')
      fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' })
    }
    return new VnameIssuer(createPrivateKey(fs.readFileSync(file)), clock)
  }

  issue(cc: string, phone: string, name: string): Uint8Array {
    const details: VnameDetails = { v: 1, issuer: 'wabox-network', cc, phone, name, issuedAt: this.#clock.now() }
    const encoded = encode(details)
    return encode({ details: encoded, signature: sign(null, encoded, this.#privateKey) })
  }

  /** The display name, if `cert` is a valid certificate of this network for cc+phone. */
  verify(cert: Uint8Array, cc: string, phone: string): string | undefined {
    try {
      const outer = decode(cert) as { details?: unknown; signature?: unknown }
      if (!(outer.details instanceof Uint8Array) || !(outer.signature instanceof Uint8Array)) return undefined
      if (!verify(null, outer.details, this.#publicKey, outer.signature)) return undefined
      const details = decode(outer.details) as VnameDetails
      return details.cc === cc && details.phone === phone && typeof details.name === 'string' ? details.name : undefined
    } catch {
      return undefined
    }
  }
}
