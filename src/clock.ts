/** Source of time for everything in wabox; tests inject a TestClock. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
}

export const systemClock: Clock = {
  now: () => Date.now(),
}

/** A clock that moves only when the test says so. */
export class TestClock implements Clock {
  #now: number

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  tick(ms: number): void {
    this.#now += ms
  }

  setTime(ms: number): void {
    this.#now = ms
  }
}

/** Unix seconds, as WhatsApp payloads carry them. */
export function unixSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000)
}
