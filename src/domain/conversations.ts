/**
 * Conversation-based pricing (CBP): a 24-hour conversation opens with the first delivered
 * business message per user and category; statuses carry `conversation` and `pricing`.
 */
export type ConversationCategory = 'marketing' | 'utility' | 'authentication' | 'service'

export const CONVERSATION_MS = 24 * 60 * 60 * 1000

/** Service inside the window for free-form messages; a template opens its own category. */
export function messageCategory(templateCategory: string | null | undefined): ConversationCategory {
  switch (templateCategory?.toLowerCase()) {
    case 'marketing':
      return 'marketing'
    case 'utility':
      return 'utility'
    case 'authentication':
      return 'authentication'
    default:
      return 'service'
  }
}

/** Templates open business-initiated conversations (metered against the messaging-limit tier). */
export function isBusinessInitiated(category: ConversationCategory): boolean {
  return category !== 'service'
}

export interface ConversationInfo {
  id: string
  category: string
  expiresAt: number
}

/** The status `conversation` object (On-Prem shape; the Cloud renderer makes the timestamp a number). */
export function conversationObject(c: ConversationInfo): { id: string; expiration_timestamp: string; origin: { type: string } } {
  return { id: c.id, expiration_timestamp: String(Math.floor(c.expiresAt / 1000)), origin: { type: c.category } }
}

export function pricingObject(category: string): { billable: boolean; pricing_model: string; category: string } {
  return { billable: true, pricing_model: 'CBP', category }
}
