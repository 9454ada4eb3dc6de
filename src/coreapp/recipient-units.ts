import type { KeyedQueue } from '../signal/keyed-queue.js'

/** What a recipient's unit tells the pass that runs it. */
export interface UnitSignals {
  /** Only the commit is left: the worker takes the next recipient. */
  encrypted(): void
  /** The unit waits for something slow (a link downloading): neither its worker nor its pass waits for it. */
  wait(): void
}

/**
 * Runs the recipients' units of the outbound passes, each recipient's in order behind its lock
 * and up to `concurrency` recipients at a time. A worker moves on once its recipient is
 * encrypted; the lock is held until the unit is committed. (Waiting for each commit held a
 * worker for one or two group commits, so a commit carried at most `concurrency` recipients
 * however many were queued.) A unit that waits for its media frees its worker and its pass:
 * the other recipients go on, and the same recipient's later units wait behind it, freed too.
 */
export class RecipientUnits {
  readonly #locks: KeyedQueue
  readonly #concurrency: number
  /** Units per recipient that wait, or queue behind one that does. */
  readonly #waiting = new Map<string, number>()
  readonly #running = new Set<Promise<void>>()

  constructor(locks: KeyedQueue, concurrency: number) {
    this.#locks = locks
    this.#concurrency = concurrency
  }

  /** Runs one pass's groups (one recipient each); resolves once each unit is committed or waits. `unit` must not reject. */
  async run<R>(groups: R[][], peerOf: (row: R) => string, unit: (group: R[], signals: UnitSignals) => Promise<void>): Promise<void> {
    const queue = [...groups]
    const passWaits: Promise<void>[] = []
    const worker = async () => {
      for (let group = queue.shift(); group; group = queue.shift()) {
        const { done, ready } = this.#start(peerOf(group[0]!), group, unit)
        passWaits.push(done)
        await ready
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, queue.length) }, worker))
    await Promise.all(passWaits)
  }

  /** Resolves when every unit has ended, waiting ones included. */
  async idle(): Promise<void> {
    await Promise.all(this.#running)
  }

  #start<R>(peer: string, group: R[], unit: (group: R[], signals: UnitSignals) => Promise<void>): { done: Promise<void>; ready: Promise<void> } {
    let encrypted = (): void => undefined
    const ready = new Promise<void>((resolve) => (encrypted = resolve))
    let detach = (): void => undefined
    const detached = new Promise<void>((resolve) => (detach = resolve))
    let waiting = false
    const wait = () => {
      if (waiting) return
      waiting = true
      this.#waiting.set(peer, (this.#waiting.get(peer) ?? 0) + 1)
      encrypted()
      detach()
    }
    if (this.#waiting.has(peer)) wait()
    const running = this.#locks.run(peer, () => unit(group, { encrypted, wait })).finally(() => {
      encrypted()
      this.#running.delete(running)
      if (!waiting) return
      const left = this.#waiting.get(peer)! - 1
      if (left === 0) this.#waiting.delete(peer)
      else this.#waiting.set(peer, left)
    })
    this.#running.add(running)
    return { done: Promise.race([running, detached]), ready }
  }
}
