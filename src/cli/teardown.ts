/**
 * What a command has started so far, closed in reverse order: on shutdown, and when a later
 * step of its startup fails (a started network or engine thread would otherwise keep a
 * process with no API alive).
 */
export class Teardown {
  readonly #steps: { name: string; close: () => Promise<void> }[] = []

  add(name: string, close: () => Promise<void>): void {
    this.#steps.push({ name, close })
  }

  /** Closes everything, last started first. */
  async close(): Promise<void> {
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) await step.close()
  }

  /**
   * After a failed start: closes everything, each step given at most `graceMs` (what did not
   * start properly may not stop properly either), reporting instead of throwing.
   */
  async abort(onError: (name: string, err: unknown) => void, graceMs = 5000): Promise<void> {
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not close within ${graceMs} ms`)), graceMs)
      })
      try {
        await Promise.race([step.close(), late])
      } catch (err) {
        onError(step.name, err)
      } finally {
        clearTimeout(timer)
      }
    }
  }
}
