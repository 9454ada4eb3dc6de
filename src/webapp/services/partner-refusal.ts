/** Codes of the Partner API's errors (docs/partner.md), each with its HTTP status. */
export const PARTNER_ERRORS = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  invalid_request: 400,
  conflict: 409,
  rate_limited: 429,
} as const

export type PartnerErrorCode = keyof typeof PARTNER_ERRORS

/** A refusal of a Partner API use case; the partner plugin answers it as `{error: {code, message}}`. */
export class PartnerRefusal extends Error {
  override readonly name = 'PartnerRefusal'

  constructor(readonly code: PartnerErrorCode, message: string) {
    super(message)
  }

  get status(): number {
    return PARTNER_ERRORS[this.code]
  }
}

/** Who acts through the Partner API: recorded in the audit log with every change. */
export interface PartnerActor {
  partnerId: string
  /** The public key id of the credential (never its secret), or `cli` for the operator's commands. */
  credentialId: string
  sourceIp: string | null
}

export function notFound(what: string, id: string): PartnerRefusal {
  return new PartnerRefusal('not_found', `No ${what} '${id}' among this partner's ${what}s`)
}
