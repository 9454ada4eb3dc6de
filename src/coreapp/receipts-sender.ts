import { groupBy } from '../collections.js'
import type { Store } from '../store/store.js'
import { WireRequestError } from '../wire/client.js'
import type { SharedWrite } from './commit-queue.js'
import type { EngineContext } from './context.js'
import { CoalescedPass } from './coalesced-pass.js'
import type { EngineView } from './engine-view.js'

/** Sends the receipts owed to phones (delivered after persisting, read on request) from the durable queue. */
export class ReceiptSender {
  readonly #ctx: EngineContext
  readonly #engine: EngineView
  readonly #inflight = new Set<number>()
  readonly #passes: CoalescedPass

  constructor(ctx: EngineContext, engine: EngineView) {
    this.#ctx = ctx
    this.#engine = engine
    this.#passes = new CoalescedPass(() => this.#tick(), (err) => ctx.logger.error({ err }, 'receipt pass failed'))
  }

  wake(): void {
    this.#passes.wake()
  }

  stop(): Promise<void> {
    return this.#passes.stop()
  }

  async #tick(): Promise<void> {
    const shards = this.#engine.connectedShards()
    const pending = (await this.#ctx.store.receipts.pending(this.#engine.phoneNumberId, shards, 1000)).filter((r) => !this.#inflight.has(r.seq))
    const groups = groupBy(pending, (r) => `${r.shard}|${r.peer}|${r.kind}`)
    for (const group of groups.values()) {
      const { shard, peer, kind } = group[0]!
      const conn = this.#engine.connection(shard)
      if (!conn) continue
      const seqs = group.map((r) => r.seq)
      seqs.forEach((s) => this.#inflight.add(s))
      conn.client.request({ t: 'receipt.send', to: peer, kind, envelopeIds: group.map((r) => r.envelopeId) }).then(
        () => this.#done(seqs),
        (err: unknown) => {
          // a user who left the network will never take the receipt
          if (err instanceof WireRequestError && (err.code === 'not_registered' || err.code === 'bad_request')) return this.#done(seqs)
          seqs.forEach((s) => this.#inflight.delete(s))
          this.#ctx.logger.debug({ err, peer }, 'receipt postponed')
        },
      )
    }
  }

  // sent receipts leave the queue with the engine's next commit, one statement for all of them
  #done(seqs: number[]): void {
    this.#ctx.queue.submit(async (_tx, batch) => {
      batch.shared('receipts-sent', () => new SentReceipts()).seqs.push(...seqs)
    }).then(
      () => seqs.forEach((s) => this.#inflight.delete(s)),
      (err: unknown) => {
        seqs.forEach((s) => this.#inflight.delete(s))
        this.#ctx.logger.warn({ err }, 'could not clear sent receipts; they will be sent again')
      },
    )
  }
}

class SentReceipts implements SharedWrite {
  readonly seqs: number[] = []

  flush(tx: Store): Promise<void> {
    return tx.receipts.remove(this.seqs)
  }
}
