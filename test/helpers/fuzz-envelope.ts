/** What a response of each dialect (On-Prem, Graph) must look like, as checks the fuzz tests share. */

export interface OnPremError {
  code: number
  title: string
  details: string
}

/** The JSON object a response holds, or why it holds none. */
function jsonObject(contentType: string | undefined, body: string): object | string {
  if (!contentType?.startsWith('application/json')) return `content-type ${contentType ?? '(none)'} is not JSON`
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return `body is not JSON: ${body.slice(0, 200)}`
  }
  return typeof parsed === 'object' && parsed !== null ? parsed : `body is not an object: ${body.slice(0, 200)}`
}

/**
 * Why a response is not a well-formed On-Prem answer, or undefined when it is: JSON with
 * `meta {api_status, version}`, and for a status ≥ 400 a non-empty `errors` of {code, title,
 * details}.
 */
export function envelopeProblem(status: number, contentType: string | undefined, body: string, version: string): string | undefined {
  const parsed = jsonObject(contentType, body)
  if (typeof parsed === 'string') return parsed
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

/**
 * Why a response is not a well-formed Cloud (Graph) answer, or undefined when it is: JSON, and
 * for a status ≥ 400 `{error: {message: "(#code) …", type, code, error_data: {messaging_product,
 * details}, fbtrace_id}}`.
 */
export function graphEnvelopeProblem(status: number, contentType: string | undefined, body: string): string | undefined {
  const parsed = jsonObject(contentType, body)
  if (typeof parsed === 'string') return parsed
  const { error } = parsed as { error?: { message?: unknown; type?: unknown; code?: unknown; error_data?: { messaging_product?: unknown; details?: unknown }; fbtrace_id?: unknown } }
  if (status < 400) return error === undefined ? undefined : `a ${status} answer carries an error`
  if (!error || !Number.isInteger(error.code)) return `a ${status} answer has no error: ${body.slice(0, 200)}`
  if (typeof error.message !== 'string' || !error.message.startsWith(`(#${String(error.code)}) `)) return `message ${JSON.stringify(error.message)} does not name the code`
  if (error.type !== 'OAuthException' || typeof error.fbtrace_id !== 'string') return `malformed error ${JSON.stringify(error)}`
  if (error.error_data?.messaging_product !== 'whatsapp' || typeof error.error_data.details !== 'string' || !error.error_data.details) {
    return `malformed error_data ${JSON.stringify(error.error_data)}`
  }
  return undefined
}

/**
 * Why a response is not a well-formed Partner API answer, or undefined when it is: JSON, and
 * for a status ≥ 400 `{error: {code, message}}` with a string code and a message.
 */
export function partnerEnvelopeProblem(status: number, contentType: string | undefined, body: string): string | undefined {
  if (status === 204 && body === '') return undefined
  const parsed = jsonObject(contentType, body)
  if (typeof parsed === 'string') return parsed
  const { error } = parsed as { error?: { code?: unknown; message?: unknown } }
  if (status < 400) return error === undefined ? undefined : `a ${status} answer carries an error`
  if (!error || typeof error.code !== 'string' || !error.code) return `a ${status} answer has no error: ${body.slice(0, 200)}`
  if (typeof error.message !== 'string' || !error.message) return `malformed error ${JSON.stringify(error)}`
  return undefined
}
