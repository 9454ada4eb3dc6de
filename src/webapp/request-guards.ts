import type { FastifyRequest } from 'fastify'
import type { WaboxError } from '../errors/index.js'
import { invalid, missing, shown } from './errors.js'

/**
 * The query parser silently keeps a malformed escape as it is, so `?name=%zz` would reach a
 * handler as the literal text: refuse it, naming the parameter.
 */
export function malformedQuery(url: string): WaboxError | undefined {
  const q = url.indexOf('?')
  if (q < 0) return undefined
  for (const pair of url.slice(q + 1).split('&')) {
    try {
      decodeURIComponent(pair)
    } catch {
      const eq = pair.indexOf('=')
      const name = shown(eq < 0 ? pair : pair.slice(0, eq), 40)
      return invalid(`query parameter '${name}'`, 'malformed percent-encoding: every % must start a %XX escape of UTF-8 text')
    }
  }
  return undefined
}

/** HTTP/1.1 requires Host; Node's own check answers without our envelope, so it is made here. */
export function missingHost(request: FastifyRequest): WaboxError | undefined {
  if (request.raw.httpVersion !== '1.1' || request.headers.host !== undefined) return undefined
  return missing("header 'Host'", 'HTTP/1.1 requests must carry it')
}

/** No id or name holds NUL, and PostgreSQL cannot store one in text: refuse it in path parameters. */
export function nulInParams(params: unknown): WaboxError | undefined {
  for (const [name, value] of Object.entries(params ?? {})) {
    if (typeof value === 'string' && value.includes('\0')) return invalid(`path parameter '${name}'`, 'must not contain NUL (%00)')
  }
  return undefined
}

/** Likewise in query parameters, where a repeated key is an array of values. */
export function nulInQuery(query: unknown): WaboxError | undefined {
  for (const [name, value] of Object.entries(query ?? {})) {
    const values: unknown[] = Array.isArray(value) ? value : [value]
    if (values.some((v) => typeof v === 'string' && v.includes('\0'))) return invalid(`query parameter '${shown(name, 40)}'`, 'must not contain NUL (%00)')
  }
  return undefined
}

/**
 * A JSON body whose text escapes NUL (`\u0000`) is walked for the string holding it: PostgreSQL
 * cannot store NUL in text, and no field of the API has a use for it. Bodies without the escape
 * (nearly all) cost one substring search.
 */
export function nulInJson(text: string, body: unknown): WaboxError | undefined {
  if (!text.includes('\\u0000')) return undefined
  const stack: [unknown, string][] = [[body, '']]
  while (stack.length) {
    const [value, at] = stack.pop()!
    if (typeof value === 'string') {
      if (value.includes('\0')) return invalid(at || 'body', 'must not contain NUL characters (U+0000)')
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push([item, `${at}[${i}]`]))
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const field = at ? `${at}.${shown(key, 40)}` : shown(key, 40)
        if (key.includes('\0')) return invalid(field, 'names must not contain NUL characters (U+0000)')
        stack.push([item, field])
      }
    }
  }
  return undefined
}
