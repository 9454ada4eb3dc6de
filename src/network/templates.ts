import type { Selectable } from 'kysely'
import type { Clock } from '../clock.js'
import { pooledRandomBytes } from '../ids.js'
import { checkTemplateDefinition, checkTemplateEdit } from '../domain/template-definition.js'
import type { TemplateComponentWire, TemplateWire, TemplatesGetResult } from '../wire/frames.js'
import type { Account } from './accounts.js'
import type { NetworkDb } from './database.js'
import type { Relay } from './relay.js'
import type { TemplatesTable } from './schema.js'
import { statusUpdate, TemplateQualityWatch, type TemplateQualityOptions } from './template-quality.js'
import type { WabaMembers } from './waba-members.js'
import { WireFailure } from './wire-failure.js'
import type { BatchParts, Trx, WriteBatcher } from './write-batcher.js'

export type TemplateStatus = TemplateWire['status']
export type TemplateAction = 'approve' | 'reject' | 'pause' | 'unpause' | 'disable'
export type TemplateRow = Selectable<TemplatesTable>

export interface TemplateInput {
  name: string
  language: string
  category: TemplateWire['category']
  components: TemplateComponentWire[]
}

export interface TemplateReviewOptions {
  /** A submitted template is decided this long after it was submitted; null: it waits for an operator. */
  delayMs: number | null
}

export interface TemplateRegistryDeps {
  db: NetworkDb
  batcher: WriteBatcher
  clock: Clock
  relay: Relay
  /** The numbers of each WABA: they share its templates. */
  members: WabaMembers
  review: TemplateReviewOptions
  quality?: Partial<TemplateQualityOptions>
}

/** Allowed status transitions: action → [from states, to state]. */
const TRANSITIONS: Record<TemplateAction, [TemplateStatus[], TemplateStatus]> = {
  approve: [['PENDING', 'REJECTED'], 'APPROVED'],
  reject: [['PENDING'], 'REJECTED'],
  pause: [['APPROVED'], 'PAUSED'],
  unpause: [['PAUSED'], 'APPROVED'],
  disable: [['APPROVED', 'PAUSED'], 'DISABLED'],
}

const CATEGORIES = ['MARKETING', 'UTILITY', 'AUTHENTICATION']
const COMPONENT_TYPES = ['HEADER', 'BODY', 'FOOTER', 'BUTTONS']
const HEADER_FORMATS = ['TEXT', 'IMAGE', 'VIDEO', 'DOCUMENT', 'LOCATION']
const DAY = 24 * 60 * 60 * 1000
/** Statuses a business may edit (Meta: approved, rejected and paused templates). */
const EDITABLE: readonly string[] = ['APPROVED', 'REJECTED', 'PAUSED']

/**
 * The review a submitted template gets, by its name, so a developer can pick the outcome:
 * `…_reject` is REJECTED with reason INVALID_FORMAT, `…_pending` waits for an operator, any
 * other is APPROVED. Decided after the review delay (0 in the dev profile); with no delay
 * (the strict profile) every template waits for an operator.
 */
export function reviewOutcome(name: string): { status: 'APPROVED' | 'REJECTED'; reason?: string } | undefined {
  if (name.endsWith('_reject')) return { status: 'REJECTED', reason: 'INVALID_FORMAT' }
  if (name.endsWith('_pending')) return undefined
  return { status: 'APPROVED' }
}

/**
 * The Business Manager side of message templates: per-WABA registry, review and quality.
 * Templates belong to the WABA of the number they were made through (waba-members.ts), and
 * every number of it lists, sends, edits and deletes them. Every status change is written
 * together with its `message_template_status_update` for the number it was made through (an
 * `account.update` in its inbox). Timed changes (a review's delay, the end of a pause) happen
 * on the injected clock, when the registry is next used or swept.
 */
export class TemplateRegistry {
  readonly #db: NetworkDb
  readonly #batcher: WriteBatcher
  readonly #clock: Clock
  readonly #relay: Relay
  readonly #review: TemplateReviewOptions
  readonly #members: WabaMembers
  readonly quality: TemplateQualityWatch
  /** Earliest review or pause end still due; nothing is looked up before it. */
  #nextDue = 0

  constructor(deps: TemplateRegistryDeps) {
    this.#db = deps.db
    this.#batcher = deps.batcher
    this.#clock = deps.clock
    this.#relay = deps.relay
    this.#review = deps.review
    this.#members = deps.members
    this.quality = new TemplateQualityWatch(this, deps, deps.quality ?? {})
  }

  /** What `templates.get` returns: the namespace and every template with its status. */
  async pack(account: Account): Promise<TemplatesGetResult> {
    if (!account.templateNamespace) throw new WireFailure('not_found', 'templates belong to business numbers')
    return { namespace: account.templateNamespace, templates: await this.list(account.waId) }
  }

  /** The business names its WABA (`waba` of a `templates.*` request; absent: none). */
  async join(account: Account, waba: string | undefined): Promise<void> {
    if (account.business) await this.#members.set(this.#batcher, account.waId, waba)
  }

  /** The templates of the number's WABA. */
  async list(waId: string): Promise<TemplateWire[]> {
    await this.sweep()
    const rows = await this.#db.selectFrom('templates').selectAll().where(this.#members.reachable(waId)).orderBy('name').orderBy('language').execute()
    // numbers seeded apart (each its own hello_world) before they named their WABA: the number's own
    const byKey = new Map<string, TemplateRow>()
    for (const row of rows) {
      const key = `${row.name}\0${row.language}`
      const kept = byKey.get(key)
      if (!kept || (kept.wa_id !== waId && row.wa_id === waId)) byKey.set(key, row)
    }
    return [...byKey.values()].map((r) => this.toWire(r))
  }

  async get(id: string): Promise<TemplateWire> {
    await this.sweep()
    return this.toWire(await this.#row(this.#db, id))
  }

  /** Operator seeding (control API): loose checks, the review rules of `reviewOutcome`. */
  async create(account: Account, input: unknown): Promise<TemplateWire> {
    return this.#insert(account, validateTemplate(input), 'POSITIONAL')
  }

  /** A business submits a template (`templates.create`): Meta's rules. */
  async submit(account: Account, input: unknown): Promise<TemplateWire> {
    const checked = checkTemplateDefinition(input)
    if (!checked.ok) throw new WireFailure('bad_request', `${checked.field}: ${checked.message}`)
    const { name, language, category, components, parameterFormat } = checked.value
    return this.#insert(account, { name, language, category, components: components as TemplateComponentWire[] }, parameterFormat)
  }

  async #insert(account: Account, template: TemplateInput, parameterFormat: 'POSITIONAL' | 'NAMED'): Promise<TemplateWire> {
    if (!account.business) throw new WireFailure('bad_request', 'templates belong to business numbers')
    const now = this.#clock.now()
    const row: TemplateRow = {
      id: templateId(),
      wa_id: account.waId,
      waba: this.#members.of(account.waId) ?? null,
      name: template.name,
      language: template.language,
      category: template.category,
      components: JSON.stringify(template.components),
      status: 'PENDING',
      reason: null,
      created_at: now,
      updated_at: now,
      parameter_format: parameterFormat,
      quality: null,
      pauses: 0,
      paused_until: null,
      review_at: null,
      edited_at: null,
    }
    const stored = await this.#batcher.run(async (trx, parts) => {
      const clash = await trx.selectFrom('templates').select('id').where(this.#members.reachable(account.waId)).where('name', '=', row.name).where('language', '=', row.language).executeTakeFirst()
      if (clash) throw new WireFailure('already_exists', `a template ${row.name} in language ${row.language} exists (id ${clash.id})`, 409)
      await trx.insertInto('templates').values(row).execute()
      return this.#scheduleReview(trx, parts, row)
    })
    return this.toWire(stored)
  }

  /** Operator edit (control API): loose checks; the template goes back to review. */
  async update(id: string, input: unknown): Promise<TemplateWire> {
    const current = await this.get(id)
    const { category, components } = validateTemplate({ ...current, ...(input as object), name: current.name, language: current.language })
    return this.#rewrite(id, category, components, false)
  }

  /** A business edits its template (`templates.update`), by Meta's edit rules. */
  async edit(account: Account, id: string, changes: unknown): Promise<TemplateWire> {
    const row = await this.#row(this.#db, id)
    if (!this.#members.reaches(account.waId, row)) throw new WireFailure('not_found', `no template ${id}`)
    if (!EDITABLE.includes(row.status)) throw new WireFailure('bad_request', `a ${row.status} template cannot be edited; approved, rejected and paused ones can`)
    const checked = checkTemplateEdit(changes, { category: row.category, parameterFormat: row.parameter_format === 'NAMED' ? 'NAMED' : 'POSITIONAL' })
    if (!checked.ok) throw new WireFailure('bad_request', `${checked.field}: ${checked.message}`)
    const { category, components } = checked.value
    if (row.status === 'APPROVED') {
      if (category !== row.category) throw new WireFailure('bad_request', "category: an approved template's category cannot be edited")
      if (row.edited_at !== null && this.#clock.now() - row.edited_at < DAY) throw new WireFailure('bad_request', 'an approved template can be edited once in 24 hours')
    }
    return this.#rewrite(id, category, (components as TemplateComponentWire[] | undefined) ?? parseComponents(row), true)
  }

  async #rewrite(id: string, category: string, components: TemplateComponentWire[], byBusiness: boolean): Promise<TemplateWire> {
    const now = this.#clock.now()
    const stored = await this.#batcher.run(async (trx, parts) => {
      const row = await this.#row(trx, id)
      const changed: TemplateRow = {
        ...row, category, components: JSON.stringify(components), status: 'PENDING', reason: null, updated_at: now,
        paused_until: null, ...(byBusiness ? { edited_at: now } : {}),
      }
      await trx.updateTable('templates')
        .set({ category, components: changed.components, status: 'PENDING', reason: null, updated_at: now, paused_until: null, edited_at: changed.edited_at })
        .where('id', '=', id).execute()
      return this.#scheduleReview(trx, parts, changed)
    })
    this.quality.forget(id)
    return this.toWire(stored)
  }

  async delete(id: string): Promise<void> {
    const { numDeletedRows } = await this.#batcher.run((trx) => trx.deleteFrom('templates').where('id', '=', id).executeTakeFirst())
    if (Number(numDeletedRows) === 0) throw new WireFailure('not_found', `no template ${id}`)
    this.quality.forget(id)
  }

  /** A business deletes every language of `name`, or (with `id`) that one template of the name. */
  async deleteByName(account: Account, name: string, id?: string): Promise<string[]> {
    const ids = await this.#batcher.run(async (trx) => {
      let query = trx.selectFrom('templates').select('id').where(this.#members.reachable(account.waId)).where('name', '=', name)
      if (id !== undefined) query = query.where('id', '=', id)
      const found = (await query.execute()).map((r) => r.id)
      if (found.length === 0) throw new WireFailure('not_found', id === undefined ? `no template named ${name}` : `no template ${id} named ${name}`)
      await trx.deleteFrom('templates').where('id', 'in', found).execute()
      return found
    })
    for (const deleted of ids) this.quality.forget(deleted)
    return ids
  }

  /** An operator's decision (control API, `wabox templates review`). */
  async transition(id: string, action: TemplateAction, reason?: string): Promise<TemplateWire> {
    const [from, to] = TRANSITIONS[action]
    const changed = await this.#batcher.run(async (trx, parts) => {
      const row = await this.#row(trx, id)
      if (!from.includes(row.status as TemplateStatus)) throw new WireFailure('bad_request', `cannot ${action} a ${row.status} template`, 409)
      const rejection = to === 'REJECTED' ? reason ?? 'OTHER' : null
      return this.change(trx, parts, row, { status: to, reason: rejection, paused_until: null, review_at: null }, rejection ?? undefined)
    })
    if (to === 'APPROVED') this.quality.forget(id)
    return this.toWire(changed)
  }

  /** Decides reviews that are due and ends pauses that are over (on the injected clock). */
  async sweep(): Promise<void> {
    const now = this.#clock.now()
    if (now < this.#nextDue) return
    this.#nextDue = Infinity
    const ended: string[] = []
    await this.#batcher.run(async (trx, parts) => {
      const due = await trx.selectFrom('templates').selectAll()
        .where((eb) => eb.or([
          eb.and([eb('status', '=', 'PENDING'), eb('review_at', '<=', now)]),
          eb.and([eb('status', '=', 'PAUSED'), eb('paused_until', '<=', now)]),
        ]))
        .execute()
      for (const row of due) {
        if (row.status === 'PAUSED') {
          ended.push(row.id)
          await this.change(trx, parts, row, { status: 'APPROVED', paused_until: null }, undefined, {
            title: 'UNPAUSE', description: 'Your WhatsApp message template is no longer paused and can be sent again.',
          })
          continue
        }
        const outcome = reviewOutcome(row.name)
        if (!outcome) await trx.updateTable('templates').set({ review_at: null }).where('id', '=', row.id).execute()
        else await this.change(trx, parts, row, { status: outcome.status, reason: outcome.reason ?? null, review_at: null }, outcome.reason)
      }
      const next = await trx.selectFrom('templates')
        .select((eb) => [eb.fn.min('review_at').as('review'), eb.fn.min('paused_until').as('pause')])
        .where('status', 'in', ['PENDING', 'PAUSED'])
        .executeTakeFirst()
      for (const at of [next?.review, next?.pause]) if (at !== null && at !== undefined) this.#nextDue = Math.min(this.#nextDue, Number(at))
    })
    for (const id of ended) this.quality.forget(id)
  }

  /** A time-bound state was written: look again at `at`. */
  due(at: number): void {
    this.#nextDue = Math.min(this.#nextDue, at)
  }

  /** Writes a status change in `trx` and queues its webhook for the business. */
  async change(trx: Trx, parts: BatchParts, row: TemplateRow, set: Partial<TemplateRow>, reason?: string, otherInfo?: { title: string; description: string }): Promise<TemplateRow> {
    const changed: TemplateRow = { ...row, ...set, updated_at: this.#clock.now() }
    const { id: _id, wa_id: _waId, ...columns } = changed
    await trx.updateTable('templates').set(columns).where('id', '=', row.id).execute()
    if (changed.status !== row.status) {
      this.#relay.queueUpdate(parts, row.wa_id, 'message_template_status_update', statusUpdate(changed, reason, otherInfo))
    }
    return changed
  }

  async row(id: string): Promise<TemplateRow | undefined> {
    return this.#db.selectFrom('templates').selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** The review of a template just (re)submitted: decided now when there is no delay. */
  async #scheduleReview(trx: Trx, parts: BatchParts, row: TemplateRow): Promise<TemplateRow> {
    const delay = this.#review.delayMs
    if (delay === null) return row
    const outcome = reviewOutcome(row.name)
    if (!outcome) return row
    if (delay > 0) {
      const at = this.#clock.now() + delay
      await trx.updateTable('templates').set({ review_at: at }).where('id', '=', row.id).execute()
      this.due(at)
      return { ...row, review_at: at }
    }
    return this.change(trx, parts, row, { status: outcome.status, reason: outcome.reason ?? null }, outcome.reason)
  }

  async #row(db: NetworkDb | Trx, id: string): Promise<TemplateRow> {
    const row = await db.selectFrom('templates').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) throw new WireFailure('not_found', `no template ${id}`)
    return row
  }

  toWire(row: TemplateRow): TemplateWire {
    return {
      id: row.id,
      name: row.name,
      language: row.language,
      category: row.category as TemplateWire['category'],
      status: row.status as TemplateStatus,
      components: parseComponents(row),
      ...(row.reason ? { reason: row.reason } : {}),
      quality: (row.quality ?? 'UNKNOWN') as NonNullable<TemplateWire['quality']>,
      parameterFormat: row.parameter_format === 'NAMED' ? 'NAMED' : 'POSITIONAL',
    }
  }
}

export function isTemplateAction(action: string): action is TemplateAction {
  return Object.hasOwn(TRANSITIONS, action)
}

function parseComponents(row: TemplateRow): TemplateComponentWire[] {
  return JSON.parse(row.components) as TemplateComponentWire[]
}

/** Graph-style template ids: 15 digits, exact as a JSON number too. */
function templateId(): string {
  const n = pooledRandomBytes(8).readBigUInt64BE() % 900_000_000_000_000n
  return String(100_000_000_000_000n + n)
}

function validateTemplate(input: unknown): TemplateInput {
  const fail = (message: string): never => {
    throw new WireFailure('bad_request', message)
  }
  if (typeof input !== 'object' || input === null) return fail('a template is an object')
  const t = input as Record<string, unknown>
  if (typeof t.name !== 'string' || !/^[a-z0-9_]{1,512}$/.test(t.name)) fail('name: lowercase letters, digits and underscores')
  if (typeof t.language !== 'string' || !/^[a-z]{2,3}(_[A-Z]{2})?$/.test(t.language)) fail('language: a code such as en or en_US')
  if (!CATEGORIES.includes(t.category as string)) fail(`category: one of ${CATEGORIES.join(', ')}`)
  if (!Array.isArray(t.components)) return fail('components: an array')
  const components = t.components as Record<string, unknown>[]
  for (const c of components) {
    if (typeof c !== 'object' || c === null || !COMPONENT_TYPES.includes(c.type as string)) fail(`component type: one of ${COMPONENT_TYPES.join(', ')}`)
    if (c.text !== undefined && typeof c.text !== 'string') fail(`${String(c.type)}: text is a string`)
    if (c.format !== undefined && !HEADER_FORMATS.includes(c.format as string)) fail(`${String(c.type)}: format is one of ${HEADER_FORMATS.join(', ')}`)
    if (c.buttons !== undefined && !Array.isArray(c.buttons)) fail('BUTTONS: buttons is an array')
    if (typeof c.text === 'string') checkPlaceholders(String(c.type), c.text, fail)
  }
  if (components.filter((c) => c.type === 'BODY').length !== 1) fail('a template has exactly one BODY component')
  return { name: t.name as string, language: t.language as string, category: t.category as TemplateWire['category'], components: components as unknown as TemplateComponentWire[] }
}

/** Placeholders are {{1}}, {{2}}, ... without gaps, as WhatsApp requires. */
function checkPlaceholders(type: string, text: string, fail: (message: string) => never): void {
  const numbers = [...text.matchAll(/\{\{(\d+)\}\}/g)].map((m) => Number(m[1]))
  const distinct = [...new Set(numbers)].sort((a, b) => a - b)
  if (distinct.some((n, i) => n !== i + 1)) fail(`${type}: placeholders must be {{1}}..{{n}} without gaps`)
}
