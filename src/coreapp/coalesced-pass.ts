/**
 * Runs a pass (claim + work) when woken. Wakes that arrive during a pass coalesce into one
 * more pass, and a pass that returns true (it hit its batch limit) runs again at once.
 * Errors are reported and never end the loop.
 */
export class CoalescedPass {
  readonly #pass: () => Promise<boolean | void>
  readonly #onError: (err: unknown) => void
  #running: Promise<void> | null = null
  #again = false
  #stopped = false

  constructor(pass: () => Promise<boolean | void>, onError: (err: unknown) => void) {
    this.#pass = pass
    this.#onError = onError
  }

  wake(): void {
    if (this.#stopped) return
    if (this.#running) {
      this.#again = true
      return
    }
    this.#running = this.#loop().finally(() => {
      this.#running = null
    })
  }

  /** No new passes; waits for the one under way. */
  async stop(): Promise<void> {
    this.#stopped = true
    await this.#running
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false
      try {
        if ((await this.#pass()) === true) this.#again = true
      } catch (err) {
        this.#onError(err)
      }
    } while (this.#again && !this.#stopped)
  }
}
