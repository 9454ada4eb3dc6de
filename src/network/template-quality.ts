import type { Clock } from '../clock.js'
import { DEFAULT_TEMPLATE_QUALITY_RULES, pauseStep, templateQuality, type TemplateQualityRules } from '../domain/template-quality.js'
import type { Relay } from './relay.js'
import type { TemplateRegistry, TemplateRow } from './templates.js'
import type { WriteBatcher } from './write-batcher.js'

export type TemplateQualityOptions = TemplateQualityRules

/** The `value` of a `message_template_status_update` (Meta's shape). */
export function statusUpdate(row: TemplateRow, reason?: string, otherInfo?: { title: string; description: string }): Record<string, unknown> {
  const value: Record<string, unknown> = {
    event: row.status,
    message_template_id: Number(row.id),
    message_template_name: row.name,
    message_template_language: row.language,
    message_template_category: row.category,
    reason: reason ?? 'NONE',
  }
  if (otherInfo) value.other_info = otherInfo
  if (row.status === 'DISABLED') value.disable_info = { disable_date: Math.floor(row.updated_at / 1000) }
  return value
}

/**
 * Template quality from what users do: a block or report counts against the template of the
 * business's last template message to that user. A template rated RED is paused (3 h, then
 * 6 h), the third time disabled. Counts live in memory (a restart starts them afresh); the
 * score, pauses and pause end are stored with the template.
 */
export class TemplateQualityWatch {
  readonly #registry: TemplateRegistry
  readonly #deps: { batcher: WriteBatcher; relay: Relay; clock: Clock }
  readonly #rules: TemplateQualityRules
  /** business\0user → the template of the business's last template message to the user. */
  readonly #lastTemplate = new Map<string, string>()
  /** template id → messages and negative feedback since its last fresh start. */
  readonly #counts = new Map<string, { sends: number; negatives: number }>()
  /** template id → the score last stored: a send that leaves it as it is reads nothing. */
  readonly #scores = new Map<string, string>()

  constructor(registry: TemplateRegistry, deps: { batcher: WriteBatcher; relay: Relay; clock: Clock }, rules: Partial<TemplateQualityRules>) {
    this.#registry = registry
    this.#deps = deps
    this.#rules = { ...DEFAULT_TEMPLATE_QUALITY_RULES, ...rules }
  }

  /** The network accepted a template message of `business` to `user`. */
  async sent(business: string, user: string, templateId: string): Promise<void> {
    this.#lastTemplate.set(`${business}\0${user}`, templateId)
    this.#countsOf(templateId).sends++
    await this.#assess(templateId)
  }

  /** `user` blocked or reported `business`. */
  async feedback(business: string, user: string, kind: 'block' | 'unblock' | 'report'): Promise<void> {
    if (kind === 'unblock') return
    const templateId = this.#lastTemplate.get(`${business}\0${user}`)
    if (templateId === undefined) return
    this.#countsOf(templateId).negatives++
    await this.#assess(templateId)
  }

  /** A fresh start: edited, unpaused, approved again or deleted. */
  forget(templateId: string): void {
    const counts = this.#counts.get(templateId)
    if (counts) counts.negatives = 0
  }

  #countsOf(templateId: string): { sends: number; negatives: number } {
    let counts = this.#counts.get(templateId)
    if (!counts) this.#counts.set(templateId, (counts = { sends: 0, negatives: 0 }))
    return counts
  }

  async #assess(templateId: string): Promise<void> {
    const score = templateQuality(this.#countsOf(templateId), this.#rules)
    if (this.#scores.get(templateId) === score) return
    const stored = await this.#registry.row(templateId)
    if (!stored) return
    this.#scores.set(templateId, stored.quality ?? 'UNKNOWN')
    if ((stored.quality ?? 'UNKNOWN') === score) return
    await this.#rate(templateId, score)
    this.#scores.set(templateId, score)
  }

  /** Stores the new score with its `message_template_quality_update`, and pauses or disables a RED approved template. */
  async #rate(templateId: string, score: string): Promise<void> {
    const registry = this.#registry
    const { batcher, relay, clock } = this.#deps
    await batcher.run(async (trx, parts) => {
      const row = await trx.selectFrom('templates').selectAll().where('id', '=', templateId).executeTakeFirst()
      const previous = row?.quality ?? 'UNKNOWN'
      if (!row || previous === score) return
      await trx.updateTable('templates').set({ quality: score === 'UNKNOWN' ? null : score }).where('id', '=', row.id).execute()
      relay.queueUpdate(parts, row.wa_id, 'message_template_quality_update', {
        previous_quality_score: previous,
        new_quality_score: score,
        message_template_id: Number(row.id),
        message_template_name: row.name,
        message_template_language: row.language,
      })
      if (score !== 'RED' || row.status !== 'APPROVED') return
      const step = pauseStep(row.pauses, this.#rules)
      const current = { ...row, quality: score }
      if (step.kind === 'disable') {
        await registry.change(trx, parts, current, { status: 'DISABLED', paused_until: null, pauses: row.pauses + 1 })
        return
      }
      const until = clock.now() + step.ms
      await registry.change(trx, parts, current, { status: 'PAUSED', paused_until: until, pauses: row.pauses + 1 }, undefined, { title: step.title, description: step.description })
      registry.due(until)
    })
  }
}
