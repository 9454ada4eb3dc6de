/**
 * A template's quality and Meta's pause ladder, pure. Blocks and reports by users whose last
 * template message from the business was this template count against it; the counts restart
 * when a pause ends.
 */

export type TemplateQuality = 'GREEN' | 'YELLOW' | 'RED' | 'UNKNOWN'

export interface TemplateQualityRules {
  /** Messages of the template before it has a score (UNKNOWN until then). */
  minSends: number
  /** Blocks + reports that make it YELLOW, then RED. */
  yellowAt: number
  redAt: number
  /** Length of the first and second quality pause; the third low rating disables it (Meta: 3 h, 6 h). */
  pauseMs: readonly [number, number]
}

const HOUR = 60 * 60 * 1000

export const DEFAULT_TEMPLATE_QUALITY_RULES: Readonly<TemplateQualityRules> = Object.freeze({
  minSends: 10,
  yellowAt: 2,
  redAt: 4,
  pauseMs: [3 * HOUR, 6 * HOUR] as const,
})

export function templateQuality(counts: { sends: number; negatives: number }, rules: TemplateQualityRules): TemplateQuality {
  if (counts.sends < rules.minSends) return 'UNKNOWN'
  if (counts.negatives >= rules.redAt) return 'RED'
  return counts.negatives >= rules.yellowAt ? 'YELLOW' : 'GREEN'
}

export type PauseStep =
  | { kind: 'pause'; ms: number; title: 'FIRST_PAUSE' | 'SECOND_PAUSE'; description: string }
  | { kind: 'disable' }

/** What a RED rating does to an approved template that was paused `pauses` times before. */
export function pauseStep(pauses: number, rules: TemplateQualityRules): PauseStep {
  if (pauses >= rules.pauseMs.length) return { kind: 'disable' }
  const ms = rules.pauseMs[pauses]!
  const hours = Math.round((ms / HOUR) * 100) / 100
  return {
    kind: 'pause',
    ms,
    title: pauses === 0 ? 'FIRST_PAUSE' : 'SECOND_PAUSE',
    description: `Your WhatsApp message template has been paused for ${hours} hours due to low quality.`,
  }
}
