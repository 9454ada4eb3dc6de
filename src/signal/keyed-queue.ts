/**
 * Serializes async work per key, in call order: ratchet steps of one session, or writes of one
 * file (a slow older rename must not overwrite a newer one).
 */
export class KeyedQueue {
  // tails never reject, so one failed task does not poison the next
  readonly #tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve()
    const next = prev.then(task)
    // settles either way, forgetting the key if nothing queued behind (a few promises per message matter)
    const done = (): void => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    }
    const tail: Promise<void> = next.then(done, done)
    this.#tails.set(key, tail)
    return next
  }
}
