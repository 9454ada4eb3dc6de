import type { FastifyPluginAsync } from 'fastify'
import type { WaboxError } from '../errors/index.js'
import type { WebContext } from './context.js'

/** An error as a dialect answers it. */
export interface RenderedError {
  status: number
  body: unknown
  /** Default `application/json; charset=utf-8`. */
  contentType?: string
}

/**
 * How a dialect answers errors. Its own routes use `render` through the error handler of its
 * plugin; the answers made before a route is known (not found, 405, a bad URL, malformed
 * framing, a server shutting down) use the dialect whose `matches` claims the URL.
 */
export interface DialectErrors {
  /** True for a URL path (no query) whose root-level answers are this dialect's. */
  matches(path: string): boolean
  render(err: WaboxError): RenderedError
  /** The error for a request no route serves; default 1006 "Unknown endpoint" (Graph answers code 100). */
  unknownEndpoint?(method: string, path: string): WaboxError
  /** Its paths lie inside another dialect's (360dialog's `/v1/configs/templates` in On-Prem's `/v1`): asked first. */
  nested?: boolean
}

/** What the OpenAPI document at `/docs` says about a dialect. */
export interface DialectDocs {
  /** A paragraph of the document's description. */
  description: string
  securitySchemes: Record<string, Record<string, unknown>>
  /** Alternatives of credentials its routes take, by scheme name. */
  security: Record<string, string[]>[]
}

/**
 * A dialect of the API: a Fastify plugin registered in its own encapsulated context with its
 * routes, auth and rate-limit hook and error handler, over the shared services. Deleting its
 * folder and its line in app.ts removes it.
 */
export interface Dialect {
  name: string
  errors(ctx: WebContext): DialectErrors
  plugin: FastifyPluginAsync<{ ctx: WebContext; errors: DialectErrors }>
  docs: DialectDocs
  /** Answers the root-level errors of URLs no dialect matches (the Cloud dialect, as Meta's paths have no prefix). */
  fallback?: boolean
  /**
   * Rewrites a request's URL before routing (the Cloud dialect drops the Graph version and a
   * trailing slash); root-level answers are still chosen by the URL as sent (`originalUrl`).
   */
  rewriteUrl?(url: string): string
}

/**
 * The registry of dialect envelopes for root-level answers. A URL a dialect matches is its (a
 * nested dialect's first);
 * else a connection keeps the dialect of its previous request; else the fallback dialect;
 * a request whose URL cannot even be read gets the first dialect registered.
 */
export class ErrorDialects {
  readonly #all: DialectErrors[] = []
  #fallback: DialectErrors | undefined
  readonly #bySocket = new WeakMap<object, DialectErrors>()

  add(errors: DialectErrors, opts: { fallback?: boolean } = {}): void {
    this.#all.push(errors)
    if (opts.fallback) this.#fallback = errors
  }

  /** The dialect for `url` (path and query; undefined if the request line could not be read) on `socket`. */
  for(url: string | undefined, socket?: object): DialectErrors {
    const path = url?.split('?')[0]
    const matched = path === undefined ? undefined
      : this.#all.find((d) => d.nested === true && d.matches(path)) ?? this.#all.find((d) => d.matches(path))
    const previous = socket ? this.#bySocket.get(socket) : undefined
    const first = this.#all[0]
    if (!first) throw new Error('no dialect is registered')
    return matched ?? previous ?? (path === undefined ? undefined : this.#fallback) ?? first
  }

  /** Remembers the dialect of a request, for framing errors later on the same connection. */
  seen(url: string, socket: object): void {
    this.#bySocket.set(socket, this.for(url))
  }
}
