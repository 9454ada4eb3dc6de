/** What a response of the On-Prem dialect must look like, as one check the fuzz tests share. */

export interface OnPremError {
  code: number
  title: string
  details: string
}

/**
 * Why a response is not a well-formed On-Prem answer, or undefined when it is: JSON with
 * `meta {api_status, version}`, and for a status ≥ 400 a non-empty `errors` of {code, title,
 * details}.
 */
export function envelopeProblem(status: number, contentType: string | undefined, body: string, version: string): string | undefined {
  if (!contentType?.startsWith('application/json')) return `content-type ${contentType ?? '(none)'} is not JSON`
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return `body is not JSON: ${body.slice(0, 200)}`
  }
  if (typeof parsed !== 'object' || parsed === null) return `body is not an object: ${body.slice(0, 200)}`
  const { meta, errors } = parsed as { meta?: { api_status?: unknown; version?: unknown }; errors?: unknown }
  if (meta?.api_status !== 'stable' || meta.version !== version) return `meta is ${JSON.stringify(meta)}`
  if (status < 400) return errors === undefined ? undefined : `a ${status} answer carries errors`
  if (!Array.isArray(errors) || errors.length === 0) return `a ${status} answer has no errors: ${body.slice(0, 200)}`
  for (const e of errors as Partial<OnPremError>[]) {
    if (!Number.isInteger(e.code) || !e.title || typeof e.details !== 'string' || !e.details) return `malformed error ${JSON.stringify(e)}`
  }
  return undefined
}

/** The first error of an envelope known to be well-formed. */
export function firstErrorOf(body: string): OnPremError {
  return (JSON.parse(body) as { errors: OnPremError[] }).errors[0]!
}
