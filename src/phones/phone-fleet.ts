import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { readFileIfExists, writeFileAtomic } from '../signal/atomic-file.js'
import { KeyedQueue } from '../signal/keyed-queue.js'
import { PhoneStorage } from './phone-storage.js'
import { Phone } from './phone.js'
import type { CodeSource, PhoneOptions } from './phone-options.js'

export const FLEET_CC = '1'

/** The national number of fleet phone `index`: 555 + 7 digits, so wa_ids read 1555xxxxxxx. */
export function fleetPhoneNumber(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 9_999_999) throw new RangeError(`phone index ${index} out of range`)
  return '555' + String(index).padStart(7, '0')
}

export interface PhoneFleetOptions extends Omit<PhoneOptions, 'dir' | 'register'> {
  /** Phones live in `<dataDir>/phones/1555xxxxxxx/`, the list in `<dataDir>/phones/fleet.json`. */
  dataDir: string
  codeSource: CodeSource
  /** Phones started at once when creating or restoring. */
  concurrency?: number
}

interface FleetFile {
  nextIndex: number
  phones: { index: number; waId: string }[]
}

/** The simulated phones of one wabox instance: created by index, restored on restart. */
export class PhoneFleet {
  readonly #opts: PhoneFleetOptions
  readonly #dir: string
  readonly #phones = new Map<string, Phone>()
  readonly #file: FleetFile
  readonly #creation = new KeyedQueue()

  private constructor(opts: PhoneFleetOptions, file: FleetFile) {
    this.#opts = opts
    this.#dir = join(opts.dataDir, 'phones')
    this.#file = file
  }

  /**
   * Opens the fleet and starts every phone it already has. A phone that cannot start (say,
   * the network lost its account) is logged and left out, not fatal to the rest.
   */
  static async open(opts: PhoneFleetOptions): Promise<PhoneFleet> {
    const dir = join(opts.dataDir, 'phones')
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const saved = await readFileIfExists(join(dir, 'fleet.json'))
    const fleet = new PhoneFleet(opts, saved ? (JSON.parse(saved.toString('utf8')) as FleetFile) : { nextIndex: 1, phones: [] })
    await fleet.#startAll(
      fleet.#file.phones.map(({ index, waId }) => () =>
        fleet.#startPhone(index).catch((err: unknown) => {
          opts.logger?.error({ err, waId }, 'phone could not start; left out of the fleet')
          return undefined
        }),
      ),
    )
    return fleet
  }

  /** In number order. */
  list(): Phone[] {
    return [...this.#phones.values()].sort((a, b) => a.waId.localeCompare(b.waId))
  }

  get(waId: string): Phone | undefined {
    return this.#phones.get(waId)
  }

  /** Registers `count` new phones with the next free numbers and brings them online. */
  create(count: number): Promise<Phone[]> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, not ${count}`)
    return this.#creation.run('create', async () => {
      const first = this.#file.nextIndex
      const indices = Array.from({ length: count }, (_, i) => first + i)
      // reserve the numbers before registering, so a crash never hands one out twice
      this.#file.nextIndex = first + count
      await this.#save()
      try {
        return await this.#startAll(
          indices.map((index) => async () => {
            try {
              const phone = await this.#startPhone(index, { cc: FLEET_CC, phone: fleetPhoneNumber(index), codeSource: this.#opts.codeSource })
              this.#file.phones.push({ index, waId: phone.waId })
              return phone
            } catch (err) {
              // registered, but its first login or key upload failed: it stays in the fleet,
              // and the next start brings it online
              const registered = await PhoneStorage.readProfile(this.#phoneDir(index)).catch(() => null)
              if (registered) this.#file.phones.push({ index, waId: registered.waId })
              throw err
            }
          }),
        )
      } finally {
        // phones registered before a failure stay in the fleet
        await this.#save()
      }
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.list().map((p) => p.close()))
  }

  #phoneDir(index: number): string {
    return join(this.#dir, FLEET_CC + fleetPhoneNumber(index))
  }

  async #startPhone(index: number, register?: PhoneOptions['register']): Promise<Phone> {
    const phone = await Phone.start({ ...this.#opts, dir: this.#phoneDir(index), register })
    this.#phones.set(phone.waId, phone)
    return phone
  }

  /** Runs start tasks with bounded concurrency; stops starting more after a failure and rethrows it. */
  async #startAll<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
    const results: T[] = new Array(tasks.length)
    const errors: unknown[] = []
    let next = 0
    const worker = async () => {
      while (next < tasks.length && errors.length === 0) {
        const i = next++
        try {
          results[i] = await tasks[i]!()
        } catch (err) {
          errors.push(err)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.#opts.concurrency ?? 8, tasks.length) }, worker))
    if (errors.length) throw errors[0]
    return results
  }

  #save(): Promise<void> {
    this.#file.phones.sort((a, b) => a.index - b.index)
    return writeFileAtomic(join(this.#dir, 'fleet.json'), JSON.stringify(this.#file, null, 2), { fsync: this.#opts.fsync ?? false })
  }
}
