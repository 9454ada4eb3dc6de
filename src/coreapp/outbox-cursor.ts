/**
 * Where a number's next claim of queued messages starts: after the highest seq claimed, lowered
 * when a message is given back, a shard (re)connects or a poll comes (from the start: on
 * PostgreSQL and MySQL a row can commit after a higher seq was claimed).
 */
export class OutboxCursor {
  #value = 0
  /** The lowest `lower` since the claim under way began. */
  #lowered: number | undefined

  get value(): number {
    return this.#value
  }

  /**
   * Claims go on from `seq` at most. Asked for while a claim is under way (a send failed, a
   * shard reconnected), it also holds against that claim's rows, which would move the cursor
   * past the message given back: it would then wait for the next poll.
   */
  lower(seq: number): void {
    this.#value = Math.min(this.#value, seq)
    this.#lowered = Math.min(this.#lowered ?? seq, seq)
  }

  /** A claim from `value` begins. */
  claiming(): void {
    this.#lowered = undefined
  }

  /** The claim that began returned rows up to `seq`. */
  claimed(seq: number): void {
    this.#value = Math.max(this.#value, seq)
    if (this.#lowered !== undefined) this.#value = Math.min(this.#value, this.#lowered)
  }
}
