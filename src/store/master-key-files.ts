import fs from 'node:fs'
import { masterKeyFile, nextMasterKeyFile, readKeyFile, type KeyFiles, type KeySource } from './sealer.js'

/**
 * The key files of a data directory as a running sealer's key source: `master.key`, and
 * `master.key.next` while a rotation is under way. A stat of both files is all a check costs;
 * they are read again only when one of them changed (staged, or renamed over master.key).
 */
export class MasterKeyFiles implements KeySource {
  readonly #dataDir: string
  #seen: string | undefined

  constructor(dataDir: string) {
    this.#dataDir = dataDir
  }

  changed(): KeyFiles | undefined {
    const stamp = this.#stamp()
    if (stamp === this.#seen) return undefined
    const current = readKeyFile(masterKeyFile(this.#dataDir))
    // never make a new key here (loadAtRestKey does on first start): that would orphan the data
    if (!current) throw new Error(`${masterKeyFile(this.#dataDir)} is gone`)
    const next = readKeyFile(nextMasterKeyFile(this.#dataDir))
    this.#seen = stamp
    return { current, next }
  }

  #stamp(): string {
    return [masterKeyFile(this.#dataDir), nextMasterKeyFile(this.#dataDir)].map((file) => {
      try {
        const st = fs.statSync(file)
        return `${st.ino}:${st.mtimeMs}:${st.size}`
      } catch {
        return '-'
      }
    }).join('|')
  }
}
