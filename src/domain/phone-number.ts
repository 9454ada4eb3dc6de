/**
 * The one phone-number normaliser: a number in any common format (`+1 (631) 555-1004`,
 * `1-631-555-1004`) or a wa_id, as its digits, country code included.
 */
const FORMATTED = /^\+?[\d\s().-]+$/

/** E.164 allows at most 15 digits. */
const MAX_DIGITS = 15

/**
 * The digits of `input`, or undefined if it is not a phone number: only digits, one leading
 * "+", spaces, dashes, dots and parentheses, and `minDigits` to 15 digits.
 */
export function normalizePhone(input: string, minDigits = 5): string | undefined {
  const trimmed = input.trim()
  if (!FORMATTED.test(trimmed)) return undefined
  const digits = trimmed.replace(/\D/g, '')
  return digits.length >= minDigits && digits.length <= MAX_DIGITS ? digits : undefined
}
