import type { Selectable } from 'kysely'
import type { RawSqlite } from './database.js'
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
 * stored items are delivered after COMMIT, in seq order. The statements run on the raw
 * connection of the batch's transaction: their text depends only on the row count, so they
 * are prepared once, where building them with the query builder cost more than running them.
 */
export class RelayWrites implements BatchPart {
  readonly #deliver: (item: InboxItem) => void
  readonly #raw: RawSqlite
  /** Sends of this batch not yet checked for duplicates. */
  #expected: [sender: string, envelopeId: string][] = []
  /** First acceptance of each (sender, envelope id) looked up or accepted here; null: none. */
  readonly #sent = new Map<string, SentEnvelope | null>()
  #newSent: SentEnvelope[] = []
  #removals: Removal[] = []
  #queued: InboxRow[] = []
  readonly #stored: InboxItem[] = []

  /** `raw` is the connection of the transactions this part is flushed in. */
  constructor(deliver: (item: InboxItem) => void, raw: RawSqlite) {
    this.#deliver = deliver
    this.#raw = raw
  }

  /** A send of this batch will ask `accepted` about (sender, envelope id). */
  expect(sender: string, envelopeId: string): void {
    this.#expected.push([sender, envelopeId])
  }

  /** How (sender, envelope id) was first accepted: earlier in this transaction or committed before. */
  async accepted(sender: string, envelopeId: string): Promise<SentEnvelope | undefined> {
    const key = keyOf(sender, envelopeId)
    // One lookup for every send of the batch, not one per envelope.
    if (!this.#sent.has(key)) this.#lookUp([[sender, envelopeId], ...this.#expected.splice(0)])
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
  async flush(_trx: Trx): Promise<void> {
    const raw = this.#raw
    // Removals first: an ack names items delivered before, never rows queued in this transaction.
    for (const chunk of chunks(this.#removals.splice(0))) {
      raw.prepare(statement(DELETE_INBOX, chunk.length)).run(chunk.flat())
    }
    for (const chunk of chunks(this.#newSent.splice(0))) {
      raw.prepare(statement(INSERT_SENT, chunk.length)).run(chunk.flatMap((s) => [s.sender, s.envelope_id, s.request_id, s.server_ts]))
    }
    for (const chunk of chunks(this.#queued.splice(0))) {
      const params = chunk.flatMap((r) => [r.recipient, r.route_hash, r.type, r.item_id, r.sender, r.kind, r.body, r.created_at])
      const { lastInsertRowid } = raw.prepare(statement(INSERT_INBOX, chunk.length)).run(params) as { lastInsertRowid: number | bigint }
      // One statement, its rows in VALUES order, AUTOINCREMENT under the transaction's write lock: consecutive seqs ending at the last.
      const first = Number(lastInsertRowid) - chunk.length + 1
      chunk.forEach((row, i) => this.#stored.push({ ...row, seq: first + i }))
    }
  }

  committed(): void {
    for (const item of this.#stored) this.#deliver(item)
  }

  #lookUp(keys: [string, string][]): void {
    const missing = new Map<string, [string, string]>()
    for (const k of keys) if (!this.#sent.has(keyOf(...k))) missing.set(keyOf(...k), k)
    for (const chunk of chunks([...missing.values()])) {
      const found = this.#raw.prepare(statement(SELECT_SENT, chunk.length)).all(chunk.flat()) as SentEnvelope[]
      for (const row of found) this.#sent.set(keyOf(row.sender, row.envelope_id), row)
    }
    for (const key of missing.keys()) if (!this.#sent.has(key)) this.#sent.set(key, null)
  }
}

const keyOf = (sender: string, envelopeId: string) => `${sender}\0${envelopeId}`

/** A statement for `rows` rows: its head and one placeholder tuple per row (texts kept per row count). */
interface Shape {
  head: string
  tuple: string
  tail: string
  texts: Map<number, string>
}

const shape = (head: string, columns: number, tail = ''): Shape => ({ head, tuple: `(${new Array(columns).fill('?').join(', ')})`, tail, texts: new Map() })
const DELETE_INBOX = shape('delete from "inbox" where ("recipient", "type", "item_id") in (', 3, ')')
const SELECT_SENT = shape('select * from "sent_envelopes" where ("sender", "envelope_id") in (', 2, ')')
const INSERT_SENT = shape('insert into "sent_envelopes" ("sender", "envelope_id", "request_id", "server_ts") values ', 4)
const INSERT_INBOX = shape('insert into "inbox" ("recipient", "route_hash", "type", "item_id", "sender", "kind", "body", "created_at") values ', 8)

function statement(s: Shape, rows: number): string {
  let text = s.texts.get(rows)
  if (text === undefined) s.texts.set(rows, (text = s.head + new Array(rows).fill(s.tuple).join(', ') + s.tail))
  return text
}

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
