import { normalizePhone } from './phone-number.js'

/**
 * Contacts check inputs (onprem-api.md §3): any common phone format; the digits, country code
 * included, are the candidate wa_id. Inputs that cannot be a phone number fail without a lookup.
 */
export function normalizeContactInput(input: string): string | null {
  // fewer than 8 digits cannot carry a country code and a subscriber number
  return normalizePhone(input, 8) ?? null
}

/** Contact-check results are cached for 7 days. */
export const CONTACT_CHECK_TTL_MS = 7 * 24 * 60 * 60 * 1000
