import type { Selectable } from 'kysely'
import type { Clock } from '../clock.js'
import { mediaId } from '../ids.js'
import type { TemplateComponentWire, TemplateWire, TemplatesGetResult } from '../wire/frames.js'
import type { Account } from './accounts.js'
import type { NetworkDb } from './database.js'
import type { TemplatesTable } from './schema.js'
import { WireFailure } from './wire-failure.js'
import type { WriteBatcher } from './write-batcher.js'

export type TemplateStatus = TemplateWire['status']
export type TemplateAction = 'approve' | 'reject' | 'pause' | 'unpause' | 'disable'

export interface TemplateInput {
  name: string
  language: string
  category: TemplateWire['category']
  components: TemplateComponentWire[]
}

/** Allowed status transitions: action → [from states, to state]. */
const TRANSITIONS: Record<TemplateAction, [TemplateStatus[], TemplateStatus]> = {
  approve: [['PENDING'], 'APPROVED'],
  reject: [['PENDING'], 'REJECTED'],
  pause: [['APPROVED'], 'PAUSED'],
  unpause: [['PAUSED'], 'APPROVED'],
  disable: [['APPROVED', 'PAUSED'], 'DISABLED'],
}

const CATEGORIES = ['MARKETING', 'UTILITY', 'AUTHENTICATION']
const COMPONENT_TYPES = ['HEADER', 'BODY', 'FOOTER', 'BUTTONS']
const HEADER_FORMATS = ['TEXT', 'IMAGE', 'VIDEO', 'DOCUMENT', 'LOCATION']

/** The Business Manager side of message templates: per-business registry and review states. */
export class TemplateRegistry {
  readonly #db: NetworkDb
  readonly #batcher: WriteBatcher
  readonly #clock: Clock
  readonly #autoApprove: boolean

  constructor(db: NetworkDb, batcher: WriteBatcher, clock: Clock, autoApprove: boolean) {
    this.#db = db
    this.#batcher = batcher
    this.#clock = clock
    this.#autoApprove = autoApprove
  }

  /** What `templates.get` returns: the namespace and every template with its status. */
  async pack(account: Account): Promise<TemplatesGetResult> {
    if (!account.templateNamespace) throw new WireFailure('not_found', 'templates belong to business numbers')
    return { namespace: account.templateNamespace, templates: await this.list(account.waId) }
  }

  async list(waId: string): Promise<TemplateWire[]> {
    const rows = await this.#db.selectFrom('templates').selectAll().where('wa_id', '=', waId).orderBy('name').orderBy('language').execute()
    return rows.map(toWire)
  }

  async get(id: string): Promise<TemplateWire> {
    const row = await this.#db.selectFrom('templates').selectAll().where('id', '=', id).executeTakeFirst()
    if (!row) throw new WireFailure('not_found', `no template ${id}`)
    return toWire(row)
  }

  async create(account: Account, input: unknown): Promise<TemplateWire> {
    if (!account.business) throw new WireFailure('bad_request', 'templates belong to business numbers')
    const template = validateTemplate(input)
    const now = this.#clock.now()
    const row: Selectable<TemplatesTable> = {
      id: mediaId(),
      wa_id: account.waId,
      name: template.name,
      language: template.language,
      category: template.category,
      components: JSON.stringify(template.components),
      status: this.#autoApprove ? 'APPROVED' : 'PENDING',
      reason: null,
      created_at: now,
      updated_at: now,
    }
    await this.#batcher.run(async (trx) => {
      const clash = await trx.selectFrom('templates').select('id').where('wa_id', '=', row.wa_id).where('name', '=', row.name).where('language', '=', row.language).executeTakeFirst()
      if (clash) throw new WireFailure('bad_request', `template ${row.name} (${row.language}) exists`, 409)
      await trx.insertInto('templates').values(row).execute()
    })
    return toWire(row)
  }

  /** Editing sends a template back to review (unless auto-approved). */
  async update(id: string, input: unknown): Promise<TemplateWire> {
    const current = await this.get(id)
    const { category, components } = validateTemplate({ ...current, ...(input as object), name: current.name, language: current.language })
    const status: TemplateStatus = this.#autoApprove ? 'APPROVED' : 'PENDING'
    await this.#batcher.run((trx) =>
      trx.updateTable('templates').set({ category, components: JSON.stringify(components), status, reason: null, updated_at: this.#clock.now() }).where('id', '=', id).execute(),
    )
    return { ...current, category, components, status }
  }

  async delete(id: string): Promise<void> {
    const { numDeletedRows } = await this.#batcher.run((trx) => trx.deleteFrom('templates').where('id', '=', id).executeTakeFirst())
    if (Number(numDeletedRows) === 0) throw new WireFailure('not_found', `no template ${id}`)
  }

  async transition(id: string, action: TemplateAction, reason?: string): Promise<TemplateWire> {
    const [from, to] = TRANSITIONS[action]
    return this.#batcher.run(async (trx) => {
      const row = await trx.selectFrom('templates').selectAll().where('id', '=', id).executeTakeFirst()
      if (!row) throw new WireFailure('not_found', `no template ${id}`)
      if (!from.includes(row.status as TemplateStatus)) throw new WireFailure('bad_request', `cannot ${action} a ${row.status} template`, 409)
      const changed = { ...row, status: to, reason: reason ?? null, updated_at: this.#clock.now() }
      await trx.updateTable('templates').set({ status: to, reason: changed.reason, updated_at: changed.updated_at }).where('id', '=', id).execute()
      return toWire(changed)
    })
  }
}

export function isTemplateAction(action: string): action is TemplateAction {
  return Object.hasOwn(TRANSITIONS, action)
}

function toWire(row: Selectable<TemplatesTable>): TemplateWire {
  return {
    id: row.id,
    name: row.name,
    language: row.language,
    category: row.category as TemplateWire['category'],
    status: row.status as TemplateStatus,
    components: JSON.parse(row.components) as TemplateComponentWire[],
  }
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
