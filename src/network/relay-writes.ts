import type { Selectable } from 'kysely'
import type { InboxTable, SentEnvelopesTable } from './schema.js'
import type { BatchPart, Trx } from './write-batcher.js'

export type InboxItem = Selectable<InboxTable>
/** An inbox row before it is stored: SQLite gives it its `seq`. */
export type InboxRow = Omit<InboxItem, 'seq'>
export type SentEnvelope = Selectable<SentEnvelopesTable>
type Removal = [recipient: string, type: 'envelope' | 'receipt' | 'update', itemId: string]

/** Most rows per statement: 512 × 8 columns stays far below SQLite's 32,766 bound parameters. */
const MAX_ROWS_PER_STATEMENT = 512

/**
 * The relay's writes in one transaction (a WriteBatcher part). Jobs only record what they
 * write; `flush` makes it with one statement per kind instead of several per job, and the
 * stored items are delivered after COMMIT, in seq order.
 */
export class RelayWrites implements BatchPart {
  readonly #deliver: (item: InboxItem) => void
  /** Sends of this batch not yet checked for duplicates. */
  #expected: [sender: string, envelopeId: string][] = []
  /** First acceptance of each (sender, envelope id) looked up or accepted here; null: none. */
  readonly #sent = new Map<string, SentEnvelope | null>()
  #newSent: SentEnvelope[] = []
  #removals: Removal[] = []
  #queued: InboxRow[] = []
  readonly #stored: InboxItem[] = []

  constructor(deliver: (item: InboxItem) => void) {
    this.#deliver = deliver
  }

  /** A send of this batch will ask `accepted` about (sender, envelope id). */
  expect(sender: string, envelopeId: string): void {
    this.#expected.push([sender, envelopeId])
  }

  /** How (sender, envelope id) was first accepted: earlier in this transaction or committed before. */
  async accepted(trx: Trx, sender: string, envelopeId: string): Promise<SentEnvelope | undefined> {
    const key = keyOf(sender, envelopeId)
    // One lookup for every send of the batch, not one per envelope.
    if (!this.#sent.has(key)) await this.#lookUp(trx, [[sender, envelopeId], ...this.#expected.splice(0)])
    return this.#sent.get(key) ?? undefined
  }

  accept(sent: SentEnvelope): void {
    this.#sent.set(keyOf(sent.sender, sent.envelope_id), sent)
    this.#newSent.push(sent)
  }

  /** Stores `row` in its recipient's inbox; seq order is the order of these calls. */
  queue(row: InboxRow): void {
    this.#queued.push(row)
  }

  remove(recipient: string, type: Removal[1], itemIds: string[]): void {
    for (const id of itemIds) this.#removals.push([recipient, type, id])
  }

  /** Also called by jobs that read the inbox and must see what earlier jobs wrote. */
  async flush(trx: Trx): Promise<void> {
    // Removals first: an ack names items delivered before, never rows queued in this transaction.
    for (const chunk of chunks(this.#removals.splice(0))) {
      await trx
        .deleteFrom('inbox')
        .where(({ eb, refTuple, tuple }) => eb(refTuple('recipient', 'type', 'item_id'), 'in', chunk.map((r) => tuple(...r))))
        .execute()
    }
    for (const chunk of chunks(this.#newSent.splice(0))) await trx.insertInto('sent_envelopes').values(chunk).execute()
    for (const chunk of chunks(this.#queued.splice(0))) {
      const inserted = await trx.insertInto('inbox').values(chunk).returning('seq').execute()
      // RETURNING order is unspecified; rows are inserted in VALUES order and AUTOINCREMENT only grows.
      const seqs = inserted.map((r) => r.seq).sort((a, b) => a - b)
      chunk.forEach((row, i) => this.#stored.push({ ...row, seq: seqs[i]! }))
    }
  }

  committed(): void {
    for (const item of this.#stored) this.#deliver(item)
  }

  async #lookUp(trx: Trx, keys: [string, string][]): Promise<void> {
    const missing = new Map<string, [string, string]>()
    for (const k of keys) if (!this.#sent.has(keyOf(...k))) missing.set(keyOf(...k), k)
    for (const chunk of chunks([...missing.values()])) {
      const found = await trx
        .selectFrom('sent_envelopes')
        .selectAll()
        .where(({ eb, refTuple, tuple }) => eb(refTuple('sender', 'envelope_id'), 'in', chunk.map((k) => tuple(...k))))
        .execute()
      for (const row of found) this.#sent.set(keyOf(row.sender, row.envelope_id), row)
    }
    for (const key of missing.keys()) if (!this.#sent.has(key)) this.#sent.set(key, null)
  }
}

const keyOf = (sender: string, envelopeId: string) => `${sender}\0${envelopeId}`

/**
 * Splits rows into statements of 2^k rows: every row count has its own SQL text, and preparing a
 * fresh multi-row statement for each batch cost more than running a few cached ones.
 */
function chunks<T>(items: T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; ) {
    const size = Math.min(MAX_ROWS_PER_STATEMENT, 2 ** Math.floor(Math.log2(items.length - i)))
    out.push(items.slice(i, (i += size)))
  }
  return out
}
