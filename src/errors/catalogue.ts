/**
 * The one error catalogue of wabox: On-Prem client codes, On-Prem webhook status codes and
 * Cloud (Graph) codes, each with its title, HTTP status and twin in the other dialect.
 * Sources: onprem-api.md §9 and cloud-api.md §4; docs/errors.md mirrors this file (a test
 * keeps them equal).
 */

export type Dialect = 'onprem' | 'cloud'

/** Where a twin is used: a synchronous API response or an async webhook error object. */
export type ErrorContext = 'sync' | 'webhook'

export interface CatalogueEntry {
  readonly code: number
  /** Name of the constant in OnPremCode / WebhookCode / CloudCode. */
  readonly key: string
  readonly dialect: Dialect
  readonly title: string
  /** null for webhook-only codes: they never travel in an HTTP response of their own. */
  readonly httpStatus: number | null
  readonly webhookOnly: boolean
  /** Code in the other dialect (for Cloud entries: the one used in sync responses). */
  readonly twin: number
  /** Cloud entries only: On-Prem twin inside statuses[].errors, when it differs from twin. */
  readonly webhookTwin?: number
}

// [code, key, title, HTTP status, Cloud twin]. Status per the mapping suggested in onprem §9.1.
const CLIENT_ROWS = [
  [1000, 'GENERIC', 'Generic error', 400, 131000],
  [1001, 'MESSAGE_TOO_LONG', 'Message too long', 400, 131001],
  [1002, 'INVALID_RECIPIENT_TYPE', 'Invalid recipient type', 400, 131002],
  [1003, 'NOT_GROUP_PARTICIPANT', 'Not a group participant', 400, 131009], // no public twin; closest is 131009
  [1004, 'RESOURCE_ALREADY_EXISTS', 'Resource already exists', 400, 131009], // no public twin; closest is 131009
  // 403: the auth layer reuses 1005 for bad credentials with an explicit 401 override
  [1005, 'ACCESS_DENIED', 'Access denied', 403, 131005],
  [1006, 'RESOURCE_NOT_FOUND', 'Resource not found', 404, 131006],
  [1007, 'RECIPIENT_BLOCKED', 'Recipient blocked to receive message', 400, 131030], // "not whitelisted" = allowed list
  [1008, 'PARAMETER_MISSING', 'Required parameter is missing', 400, 131008],
  [1009, 'PARAMETER_INVALID', 'Parameter value is not valid', 400, 131009],
  [1010, 'PARAMETER_NOT_REQUIRED', 'Parameter is not required', 400, 100], // Graph's "unsupported parameter"
  [1011, 'SERVICE_NOT_READY', 'Service not ready', 503, 133004], // no public twin; closest is 133004
  [1012, 'GROUP_UNKNOWN', 'Group is unknown', 400, 131009], // no public twin; closest is 131009
  [1013, 'USER_NOT_VALID', 'User is not valid', 400, 131026],
  [1014, 'INTERNAL_ERROR', 'Internal error', 500, 131000],
  [1015, 'TOO_MANY_REQUESTS', 'Too many requests', 429, 130429],
  [1016, 'SYSTEM_OVERLOADED', 'System overloaded', 503, 131016],
  [1017, 'NOT_PRIMARY_MASTER', 'Not Primary Master', 503, 133004], // no public twin; retryable like 133004
  [1018, 'NOT_PRIMARY_COREAPP', 'Not Primary Coreapp', 503, 133004], // no public twin; retryable like 133004
  [1021, 'BAD_USER', 'Bad User', 400, 131021],
  [1022, 'WEBHOOK_URL_NOT_CONFIGURED', 'Webhooks URL is not configured', 400, 131000], // no public twin
  [1023, 'DATABASE_ERROR', 'Database error occurred', 500, 131000],
  [1024, 'PASSWORD_CHANGE_REQUIRED', 'Password Change Required', 401, 131005], // no public twin; closest is 131005
  [1025, 'INVALID_REQUEST', 'Invalid Request', 400, 135000],
  [1026, 'RECEIVER_INCAPABLE', 'Receiver Incapable', 400, 131026],
  // no public twin; the message is held back, which Cloud reports as undeliverable
  [1028, 'IDENTITY_CHANGE_ACK_REQUIRED', 'A user_identity_changed system notification requires acknowledgement', 400, 131026],
  [1031, 'SENDER_ACCOUNT_LOCKED', 'Sender account has been locked', 403, 131031],
  // 2000-series without a mirrored 1320xx code map to the closest generic Cloud code
  [2000, 'TEMPLATE_PARAM_COUNT_MISMATCH', 'Template Param Count Mismatch', 400, 132000],
  [2001, 'TEMPLATE_MISSING', 'Template Missing', 400, 132001],
  [2002, 'TEMPLATE_FETCH_FAILED', 'Template Fetch Failed', 400, 132001],
  [2003, 'TEMPLATE_PACK_MISSING', 'Template Pack Missing', 400, 132001], // no language pack = no template
  [2004, 'TEMPLATE_PARAM_LENGTH_TOO_LONG', 'Template Param Length Too Long', 400, 132005],
  [2005, 'TEMPLATE_HYDRATED_TEXT_TOO_LONG', 'Template Hydrated Text Too Long', 400, 132005],
  [2006, 'TEMPLATE_WHITE_SPACE_POLICY', 'Template White Space Policy Violated', 400, 132007],
  [2007, 'TEMPLATE_FORMAT_CHARACTER_POLICY', 'Template Format Character Policy Violated', 400, 132007],
  [2008, 'TEMPLATE_MEDIA_FORMAT_UNSUPPORTED', 'Template Media Format Unsupported', 400, 132012],
  [2009, 'TEMPLATE_COMPONENT_MISSING', 'Template Required Component Missing', 400, 131008],
  [2010, 'TEMPLATE_INVALID_URL', 'Template Invalid Hydrated URL', 400, 131009],
  [2011, 'TEMPLATE_INVALID_PHONE_NUMBER', 'Template Invalid Phone Number', 400, 131009],
  [2012, 'TEMPLATE_PARAM_FORMAT_MISMATCH', 'Template Parameter Format Mismatch', 400, 132012],
  [2013, 'TEMPLATE_BUTTONS_UNSUPPORTED', 'Template Buttons Unsupported', 400, 131009],
  [2014, 'NAMESPACE_EMPTY', 'Expected Namespace is Empty', 400, 131008],
  [2015, 'INVALID_SECTION_COUNT', 'Invalid number of sections', 400, 131009],
  [2016, 'INVALID_ROW_COUNT', 'Invalid number of rows', 400, 131009],
  [2017, 'CHARACTER_POLICY_VIOLATED', 'Character Policy Violated', 400, 132007],
  [2023, 'INVALID_PRODUCT_COUNT', 'Invalid number of product', 400, 131009],
  [2024, 'CATALOG_NOT_FOUND', 'Catalog ID not found', 400, 131009],
  [2025, 'CATALOG_NOT_LINKED', 'Catalog ID not linked to API number', 400, 131009],
  [2026, 'PRODUCTS_MISSING', 'Missing products', 400, 131009],
  [2027, 'NO_PRODUCTS_FOUND', 'No products found', 400, 131009],
  [2028, 'ALL_PRODUCTS_FAILED_COMPLIANCE', 'List all products failed compliance', 400, 131009],
  [2029, 'SOME_PRODUCTS_FAILED_COMPLIANCE', 'List some products failed compliance', 400, 131009],
  [2030, 'MIXED_PRODUCTS_INVALID', 'List mixed products invalid and failed compliance', 400, 131009],
  [2036, 'INVALID_HEADER_STRUCTURE', 'Invalid Header Structure', 400, 131009],
  [2050, 'COMPLIANCE_INFO_MISSING', 'Missing Compliance Info', 400, 131009],
  [2060, 'TEMPLATE_REJECTED', 'Template Rejected', 400, 132001], // Cloud: "does not exist or not approved"
  [2061, 'TEMPLATE_PAUSED', 'Template Paused', 400, 132015],
  [2062, 'TEMPLATE_DISABLED', 'Template Disabled', 400, 132016],
  [2068, 'FLOW_BLOCKED', 'Flow is blocked', 400, 132068],
  [2069, 'FLOW_THROTTLED', 'Flow is throttled', 400, 132069],
] as const

// [code, key, title, Cloud twin]. Async only: they appear in statuses[].errors, never as a response.
const WEBHOOK_ROWS = [
  [400, 'MEDIA_DOWNLOAD_ERROR', 'Media download error', 131052],
  [401, 'GROUP_NOT_FOUND', 'Group does not exist', 131026], // no public twin; closest is 131026
  [402, 'BUSINESS_ELIGIBILITY_PAYMENT', 'Business eligibility payment issue', 131042],
  [408, 'MESSAGE_NOT_VALID', 'Message is not valid', 131026], // no public twin; closest is 131026
  [410, 'MESSAGE_EXPIRED', 'Message expired', 131026], // no public twin; closest is 131026
  [429, 'RATE_LIMIT_HIT', 'Rate limit hit', 130429],
  [430, 'UNSIGNED_CERTIFICATE', 'Unsigned certificate', 131045],
  [432, 'CERTIFICATE_ID_MISMATCH', 'Certificate ID mismatch', 131045],
  [433, 'CERTIFICATE_SIGNATURE_INVALID', 'Certificate signature invalid', 131045],
  [470, 'REENGAGEMENT_MESSAGE', 'Re-engagement message', 131047],
  [471, 'SPAM_RATE_LIMIT', 'Spam rate limit hit', 131048],
  [472, 'EXPERIMENT_NUMBER', "User's number is part of an experiment", 130472],
  [480, 'USER_POTENTIALLY_CHANGED', 'User potentially changed', 131026], // no public twin; closest is 131026
  [500, 'GENERIC', 'Generic error', 131000],
  [501, 'UNSUPPORTED_MESSAGE_TYPE', 'Message type is not currently supported', 131051],
] as const

// [code, key, title, HTTP status, On-Prem twin (sync), On-Prem twin in webhooks if different].
// Statuses from cloud-api.md §4.2; Meta answers rate limits with 400, not 429.
const CLOUD_ROWS = [
  [0, 'AUTH_EXCEPTION', 'AuthException', 401, 1005],
  [1, 'API_UNKNOWN', 'API Unknown', 400, 1000],
  [2, 'API_SERVICE', 'API Service', 503, 1011],
  [3, 'API_METHOD', 'API Method', 500, 1005],
  [4, 'API_TOO_MANY_CALLS', 'API Too Many Calls', 400, 1015],
  [10, 'PERMISSION_DENIED', 'Permission denied', 403, 1005],
  [33, 'GRAPH_PARAMETER_INVALID', 'Parameter value is not valid', 400, 1009],
  [100, 'INVALID_PARAMETER', 'Invalid parameter', 400, 1010],
  [190, 'ACCESS_TOKEN_EXPIRED', 'Access token has expired', 401, 1005],
  [200, 'API_PERMISSION', 'API Permission', 403, 1005], // Graph uses 200-299; wabox emits 200
  [368, 'TEMPORARILY_BLOCKED', 'Temporarily blocked for policy violations', 403, 1031],
  // the GET handshake of a webhook URL being set failed; On-Prem would call the URL an invalid value
  [2200, 'CALLBACK_VERIFICATION_FAILED', 'Callback verification failed', 400, 1009],
  [80007, 'RATE_LIMIT_ISSUES', 'Rate limit issues', 400, 1015],
  [130429, 'RATE_LIMIT_HIT', 'Rate limit hit', 400, 1015, 429],
  [130472, 'EXPERIMENT_NUMBER', "User's number is part of an experiment", 400, 472],
  [130497, 'COUNTRY_RESTRICTED', 'Business account is restricted from messaging users in this country', 403, 1005],
  [131000, 'GENERIC', 'Something went wrong', 500, 1000, 500],
  // 131001/131002/131006 are mirrored from the On-Prem titles (onprem §9.4)
  [131001, 'MESSAGE_TOO_LONG', 'Message too long', 400, 1001],
  [131002, 'INVALID_RECIPIENT_TYPE', 'Invalid recipient type', 400, 1002],
  [131005, 'ACCESS_DENIED', 'Access denied', 403, 1005],
  [131006, 'RESOURCE_NOT_FOUND', 'Resource not found', 404, 1006],
  [131008, 'PARAMETER_MISSING', 'Required parameter is missing', 400, 1008],
  [131009, 'PARAMETER_INVALID', 'Parameter value is not valid', 400, 1009],
  [131016, 'SERVICE_UNAVAILABLE', 'Service unavailable', 500, 1016], // some sources say 503
  [131021, 'RECIPIENT_IS_SENDER', 'Recipient cannot be sender', 400, 1021],
  [131026, 'MESSAGE_UNDELIVERABLE', 'Message undeliverable', 400, 1026], // onprem §9.4 pairs it with 1026
  [131030, 'RECIPIENT_NOT_ALLOWED', 'Recipient phone number not in allowed list', 400, 1007],
  [131031, 'ACCOUNT_LOCKED', 'Account has been locked', 403, 1031],
  [131042, 'BUSINESS_ELIGIBILITY_PAYMENT', 'Business eligibility payment issue', 400, 402],
  [131045, 'INCORRECT_CERTIFICATE', 'Incorrect certificate', 500, 430],
  [131047, 'REENGAGEMENT_MESSAGE', 'Re-engagement message', 400, 470],
  [131048, 'SPAM_RATE_LIMIT', 'Spam rate limit hit', 400, 471],
  // no On-Prem twin; closest is the quality throttle 471
  [131049, 'ECOSYSTEM_ENGAGEMENT', 'Message not delivered to maintain healthy ecosystem engagement', 400, 471],
  [131050, 'MARKETING_OPT_OUT', 'User stopped marketing messages', 400, 1007], // closest: recipient blocked
  [131051, 'UNSUPPORTED_MESSAGE_TYPE', 'Unsupported message type', 400, 501],
  [131052, 'MEDIA_DOWNLOAD_ERROR', 'Media download error', 400, 400],
  [131053, 'MEDIA_UPLOAD_ERROR', 'Media upload error', 400, 1009], // bad link / MIME is a bad parameter
  [131056, 'PAIR_RATE_LIMIT', '(Business Account, Consumer Account) pair rate limit hit', 400, 1015, 429],
  [131057, 'MAINTENANCE_MODE', 'Account in maintenance mode', 500, 1011],
  // On-Prem has no user ids; the recipient is the bad parameter
  [131062, 'USER_ID_RECIPIENT_UNSUPPORTED', 'Business-scoped User ID recipients are not supported for this message', 400, 1009],
  [132000, 'TEMPLATE_PARAM_COUNT_MISMATCH', 'Template param count mismatch', 400, 2000],
  [132001, 'TEMPLATE_MISSING', 'Template does not exist', 404, 2001],
  [132005, 'TEMPLATE_HYDRATED_TEXT_TOO_LONG', 'Template hydrated text too long', 400, 2005],
  [132007, 'TEMPLATE_FORMAT_CHARACTER_POLICY', 'Template format character policy violated', 400, 2007],
  [132012, 'TEMPLATE_PARAM_FORMAT_MISMATCH', 'Template parameter format mismatch', 400, 2012],
  [132015, 'TEMPLATE_PAUSED', 'Template is paused', 400, 2061],
  [132016, 'TEMPLATE_DISABLED', 'Template is disabled', 400, 2062],
  [132068, 'FLOW_BLOCKED', 'Flow is blocked', 400, 2068],
  [132069, 'FLOW_THROTTLED', 'Flow is throttled', 400, 2069],
  // registration codes: On-Prem had no public equivalents, so the closest generic code is used
  [133000, 'INCOMPLETE_DEREGISTRATION', 'Incomplete deregistration', 500, 1014],
  [133004, 'SERVER_UNAVAILABLE', 'Server temporarily unavailable', 503, 1011],
  [133005, 'PIN_MISMATCH', 'Two-step verification PIN mismatch', 400, 1005],
  [133006, 'REVERIFICATION_NEEDED', 'Phone number re-verification needed', 400, 1005],
  [133008, 'TOO_MANY_PIN_GUESSES', 'Too many two-step verification PIN guesses', 400, 1015],
  [133009, 'PIN_GUESSED_TOO_FAST', 'Two-step verification PIN guessed too fast', 400, 1015],
  [133010, 'NOT_REGISTERED', 'Phone number not registered', 400, 1011], // unregistered On-Prem = not ready
  [133015, 'REGISTER_WAIT', 'Wait a few minutes before registering again', 400, 1015],
  [133016, 'REGISTER_RATE_LIMIT', 'Account register or deregister rate limit exceeded', 400, 1015],
  [135000, 'GENERIC_USER_ERROR', 'Generic user error', 400, 1025],
  [136025, 'CODE_VERIFICATION_FAILED', 'Verification code is wrong or expired', 400, 1009],
] as const

type AnyRow = readonly [number, string, ...unknown[]]
type CodeMap<R extends readonly AnyRow[]> = { readonly [T in R[number] as T[1]]: T[0] }

function codeMap<R extends readonly AnyRow[]>(rows: R): CodeMap<R> {
  return Object.freeze(Object.fromEntries(rows.map((r) => [r[1], r[0]]))) as CodeMap<R>
}

/** On-Prem client (API response) codes, e.g. `OnPremCode.PARAMETER_INVALID` = 1009. */
export const OnPremCode = codeMap(CLIENT_ROWS)
/** On-Prem webhook status codes (statuses[].errors), e.g. `WebhookCode.REENGAGEMENT_MESSAGE` = 470. */
export const WebhookCode = codeMap(WEBHOOK_ROWS)
/** Cloud / Graph codes, e.g. `CloudCode.PARAMETER_INVALID` = 131009. */
export const CloudCode = codeMap(CLOUD_ROWS)

/**
 * Graph `error_subcode`s that ride on code 100 (INVALID_PARAMETER) of template management
 * (cloud-api.md §6; docs/errors.md lists them).
 */
export const GraphSubcode = Object.freeze({
  /** A template of this name in this language exists: "Content in this language already exists". */
  TEMPLATE_LANGUAGE_EXISTS: 2388024,
  /** A text header with new lines, formatting characters, emojis or asterisks. */
  TEMPLATE_HEADER_FORMAT: 2388072,
  /** A body that starts or ends with a variable. */
  TEMPLATE_VARIABLE_AT_EDGE: 2388299,
} as const)

export type OnPremClientCodeValue = (typeof CLIENT_ROWS)[number][0]
export type WebhookCodeValue = (typeof WEBHOOK_ROWS)[number][0]
/** Every code of the On-Prem dialect: client codes and webhook status codes. */
export type OnPremCodeValue = OnPremClientCodeValue | WebhookCodeValue
export type CloudCodeValue = (typeof CLOUD_ROWS)[number][0]
/** The numeric ranges of the three tables do not overlap, so a code alone names its dialect. */
export type KnownCode = OnPremCodeValue | CloudCodeValue

const entries: CatalogueEntry[] = [
  ...CLIENT_ROWS.map(([code, key, title, httpStatus, twin]): CatalogueEntry =>
    ({ code, key, dialect: 'onprem', title, httpStatus, webhookOnly: false, twin })),
  ...WEBHOOK_ROWS.map(([code, key, title, twin]): CatalogueEntry =>
    ({ code, key, dialect: 'onprem', title, httpStatus: null, webhookOnly: true, twin })),
  ...CLOUD_ROWS.map((row): CatalogueEntry => {
    const [code, key, title, httpStatus, twin] = row
    const e: CatalogueEntry = { code, key, dialect: 'cloud', title, httpStatus, webhookOnly: false, twin }
    return row.length > 5 ? { ...e, webhookTwin: row[5] } : e
  }),
].map((e) => Object.freeze(e))

const byCode = new Map<number, CatalogueEntry>()
for (const e of entries) {
  // fail at load time rather than render a wrong code later
  if (byCode.has(e.code)) throw new Error(`errors catalogue: duplicate code ${e.code}`)
  byCode.set(e.code, e)
}
for (const e of entries) {
  for (const t of [e.twin, e.webhookTwin]) {
    if (t !== undefined && byCode.get(t)?.dialect === e.dialect) {
      throw new Error(`errors catalogue: twin ${t} of ${e.code} is in the same dialect`)
    }
    if (t !== undefined && !byCode.has(t)) throw new Error(`errors catalogue: unknown twin ${t} of ${e.code}`)
  }
}

/** Every entry, On-Prem client codes first, then webhook codes, then Cloud codes. */
export const CATALOGUE: readonly CatalogueEntry[] = Object.freeze(entries)

export function isKnownCode(code: number): code is KnownCode {
  return byCode.has(code)
}

/** Entry for a code of either dialect. */
export function catalogueEntry(code: KnownCode): CatalogueEntry
export function catalogueEntry(code: number): CatalogueEntry | undefined
export function catalogueEntry(code: number): CatalogueEntry | undefined {
  return byCode.get(code)
}

/** Entry for an On-Prem code (client or webhook); undefined for Cloud or unknown codes. */
export function onPremEntry(code: OnPremCodeValue): CatalogueEntry
export function onPremEntry(code: number): CatalogueEntry | undefined
export function onPremEntry(code: number): CatalogueEntry | undefined {
  const e = byCode.get(code)
  return e?.dialect === 'onprem' ? e : undefined
}

/** Entry for a Cloud code; undefined for On-Prem or unknown codes. */
export function cloudEntry(code: CloudCodeValue): CatalogueEntry
export function cloudEntry(code: number): CatalogueEntry | undefined
export function cloudEntry(code: number): CatalogueEntry | undefined {
  const e = byCode.get(code)
  return e?.dialect === 'cloud' ? e : undefined
}

function mustGet(code: number, dialect: Dialect): CatalogueEntry {
  const e = byCode.get(code)
  if (e?.dialect !== dialect) throw new RangeError(`not a known ${dialect} error code: ${code}`)
  return e
}

/** Cloud twin of an On-Prem code (total: every On-Prem code has one). */
export function toCloudCode(onPremCode: OnPremCodeValue): CloudCodeValue {
  return mustGet(onPremCode, 'onprem').twin as CloudCodeValue
}

/**
 * On-Prem twin of a Cloud code. The context matters where On-Prem used a different code in
 * webhooks than in responses (130429 → 1015 in a response, 429 in statuses[].errors).
 */
export function toOnPremCode(cloudCode: CloudCodeValue, context: ErrorContext = 'sync'): OnPremCodeValue {
  const e = mustGet(cloudCode, 'cloud')
  return (context === 'webhook' ? e.webhookTwin ?? e.twin : e.twin) as OnPremCodeValue
}
