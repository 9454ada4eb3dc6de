import { randomInt } from 'node:crypto'
import { Agent, request } from 'undici'
import { describeError, readHead } from './http-delivery.js'
import { guardedLookup, parseWebhookUrl, redactUrl, systemResolver, type Resolver, type UrlPolicy } from './url-guard.js'

/**
 * Meta's webhook verification handshake (cloud-api.md §3.1), made before a Cloud webhook URL is
 * accepted: `GET url?hub.mode=subscribe&hub.verify_token=…&hub.challenge=<n>` must answer 200 with
 * the body `n` and nothing else. The request goes through the same URL guard as deliveries (the
 * address connected to is the address checked) and follows no redirect.
 */

export interface HandshakeRequest {
  url: string
  verifyToken: string
  policy: UrlPolicy
  /** The whole exchange, connect to last byte. */
  timeoutMs: number
}

export type HandshakeResult = { ok: true } | { ok: false; problem: string }

export interface CallbackVerifierOptions {
  /** DNS resolver for the URL guard (tests). */
  resolve?: Resolver
  /** The challenge sent; default a random number, as Meta sends. */
  challenge?: () => string
}

/** A body longer than this cannot be the challenge; what came back is shown up to it. */
const BODY_LIMIT = 512

class HandshakeTimeout extends Error {}

/** Makes handshakes; injected into the WebApp, which may not import src/webhooks. */
export class CallbackVerifier {
  constructor(private readonly opts: CallbackVerifierOptions = {}) {}

  async verify(req: HandshakeRequest): Promise<HandshakeResult> {
    let target
    try {
      target = parseWebhookUrl(req.url, req.policy)
    } catch (err) {
      return { ok: false, problem: (err as Error).message }
    }
    const challenge = this.opts.challenge?.() ?? String(randomInt(1, 2 ** 31 - 1))
    const url = new URL(target.url)
    url.searchParams.set('hub.mode', 'subscribe')
    url.searchParams.set('hub.verify_token', req.verifyToken)
    url.searchParams.set('hub.challenge', challenge)
    const agent = new Agent({
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
      connect: { lookup: guardedLookup(target.insecure, req.policy, this.opts.resolve ?? systemResolver), timeout: req.timeoutMs },
    })
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new HandshakeTimeout()), req.timeoutMs)
    const shown = redactUrl(req.url)
    try {
      const res = await request(url, {
        method: 'GET',
        dispatcher: agent,
        signal: controller.signal,
        headers: { 'user-agent': 'wabox-webhooks/1', ...(target.authorization ? { authorization: target.authorization } : {}) },
      })
      const body = await readBounded(res.body)
      if (res.statusCode !== 200) {
        return { ok: false, problem: `GET ${shown} answered HTTP ${res.statusCode}${body ? ` with ${quoted(body)}` : ''}; it must answer 200` }
      }
      if (body !== challenge) {
        return { ok: false, problem: `GET ${shown} answered 200 with ${quoted(body)}, not the hub.challenge ${JSON.stringify(challenge)}; the body must be the challenge exactly` }
      }
      return { ok: true }
    } catch (err) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err
      if (reason instanceof HandshakeTimeout) return { ok: false, problem: `GET ${shown} did not answer within ${req.timeoutMs} ms` }
      const { error, result } = describeError(reason)
      return { ok: false, problem: result === 'refused' ? error : `GET ${shown} failed: ${error}` }
    } finally {
      clearTimeout(timer)
      await agent.destroy().catch(() => undefined)
    }
  }
}

/** The body as text, cut at BODY_LIMIT bytes (the rest is not read). */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const { head, more } = await readHead(body, BODY_LIMIT)
  return `${head.toString('utf8')}${more ? '…' : ''}`
}

/** `the body "…"`, or `an empty body`. */
function quoted(text: string): string {
  return text === '' ? 'an empty body' : `the body ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}`
}
