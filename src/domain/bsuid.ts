/**
 * Business-scoped user ids (BSUIDs, WhatsApp 2026): the id a user has towards one business,
 * `CC.` + up to 128 alphanumerics, CC being the ISO 3166 alpha-2 country of the user's number,
 * e.g. `US.13491208655302741918`. Meta also issues parent ids shared by linked businesses,
 * `US.ENT.11815799212886844830`: they are well-formed here, though wabox issues none.
 */
const BSUID = /^[A-Z]{2}(?:\.ENT)?\.[A-Za-z0-9]{1,128}$/

/** Most characters a BSUID can have: country, `.ENT`, `.`, 128 alphanumerics. */
export const MAX_BSUID_LENGTH = 2 + 4 + 1 + 128

/** Whether `value` has the shape of a business-scoped user id (never true for a phone number). */
export function isBsuid(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_BSUID_LENGTH && BSUID.test(value)
}

/** The rule an invalid `recipient` breaks, for error details. */
export const BSUID_RULE = 'a business-scoped user id: a two-letter country code, a dot, then 1 to 128 letters and digits (e.g. US.13491208655302741918)'
