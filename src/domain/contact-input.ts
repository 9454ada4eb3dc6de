/**
 * Contacts check inputs (onprem-api.md §3): any common phone format; the digits, country code
 * included, are the candidate wa_id. Inputs that cannot be a phone number fail without a lookup.
 */
const ALLOWED = /^\+?[\d\s().-]+$/

export function normalizeContactInput(input: string): string | null {
  const trimmed = input.trim()
  if (!ALLOWED.test(trimmed)) return null
  const digits = trimmed.replace(/\D/g, '')
  // E.164 allows at most 15 digits; fewer than 8 cannot carry a country code and a subscriber number
  return digits.length >= 8 && digits.length <= 15 ? digits : null
}

/** Contact-check results are cached for 7 days. */
export const CONTACT_CHECK_TTL_MS = 7 * 24 * 60 * 60 * 1000
