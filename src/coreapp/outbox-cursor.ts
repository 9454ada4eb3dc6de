/** A poll claims from the cursor of this many polls back (where commits can come out of seq order)… */
const LOOKBACK_POLLS = 5
/** …and from the start every this many polls. */
const FULL_REWIND_POLLS = 50

/**
 * Where a number's next claim of queued messages starts: after the highest seq claimed, lowered
 * when a message is given back or a shard (re)connects, and moved back at polls as far as
 * commits can come out of order.
 */
export class OutboxCursor {
  #value = 0
  /** The lowest `lower` since the claim under way began. */
  #lowered: number | undefined
  /** The cursor at each of the last polls, oldest first. */
  readonly #marks: number[] = []
  #polls = 0
  readonly #inCommitOrder: boolean

  /** `inCommitOrder`: no row commits after a higher seq was claimed (SQLite). */
  constructor(inCommitOrder: boolean) {
    this.#inCommitOrder = inCommitOrder
  }

  get value(): number {
    return this.#value
  }

  /**
   * Claims go on from `seq` at most. Asked for while a claim is under way (a send failed, a
   * shard reconnected), it also holds against that claim's rows, which would move the cursor
   * past the message given back: it would then wait for the next claim from the start.
   */
  lower(seq: number): void {
    this.#value = Math.min(this.#value, seq)
    this.#lowered = Math.min(this.#lowered ?? seq, seq)
  }

  /**
   * Before an idle poll's pass. Claiming from the start each time read every message still in
   * flight again (a third more rows than were sent at 1,000 msg/s, up to 5,000 per poll when
   * behind). Where a row can commit after a higher seq was claimed, the poll claims from the
   * cursor of a few polls back; every so often from the start, for anything else.
   */
  beforePoll(): void {
    this.#marks.push(this.#value)
    const oldest = this.#marks.length > LOOKBACK_POLLS ? this.#marks.shift()! : 0
    if (++this.#polls % FULL_REWIND_POLLS === 0) this.lower(0)
    else if (!this.#inCommitOrder) this.lower(oldest)
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
