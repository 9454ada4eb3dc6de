import type { StatusEvent } from './events.js'

type StoredPricing = NonNullable<StatusEvent['status']['pricing']>

/** `statuses[].pricing` under per-message pricing (PMP, since July 2025). */
export interface PerMessagePricing {
  billable: boolean
  pricing_model: 'PMP'
  category: string
  /** `free_entry_point` is for 72 h after a user came through an ad or a Page button, which simulated phones never do. */
  type: 'regular' | 'free_customer_service' | 'free_entry_point'
}

type Rule = Pick<PerMessagePricing, 'billable' | 'type'>

/**
 * How each category is charged, as data: Meta changes these rules (research/cloud-2026.md
 * §1.2: service messages become chargeable past a free tier in October 2026). Free-form
 * replies (`service`, sent inside the customer-service window) are free; templates are charged.
 */
const RULES: Readonly<Record<string, Rule>> = {
  service: { billable: false, type: 'free_customer_service' },
}
const TEMPLATE: Rule = { billable: true, type: 'regular' }

/** The PMP `pricing` object for what the engine stored (its category; the conversation model's fields are dropped). */
export function perMessagePricing(stored: StoredPricing): PerMessagePricing {
  const rule = RULES[stored.category] ?? TEMPLATE
  return { billable: rule.billable, pricing_model: 'PMP', category: stored.category, type: rule.type }
}

/** The `pricing_type` analytics name it under (Meta's upper-case names of `type`). */
export function pricingTypeOf(category: string): string {
  return (RULES[category] ?? TEMPLATE).type.toUpperCase()
}
