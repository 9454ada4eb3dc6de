import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { Registry } from 'prom-client'
import type { Clock } from '../clock.js'
import type { CoreBridge } from '../domain/bridge.js'
import type { UrlPolicy } from '../domain/ip-address.js'
import type { TemplatePack } from '../domain/templates.js'
import { IDLE_SOCKET_TIMEOUT_MS, UPLOAD_REQUEST_TIMEOUT_MS } from '../http-timeouts.js'
import { OnPremCode, WaboxError } from '../errors/index.js'
import type { MediaVolume } from '../media/volume.js'
import type { ApiKeyInfo } from '../store/api-keys.js'
import type { BatchWriter } from '../store/batch-writer.js'
import type { OutboundMessage } from '../store/messages.js'
import { outboundIntake } from '../store/outbound-intake.js'
import type { PhoneNumberRow } from '../store/schema.js'
import type { Store } from '../store/store.js'
import { meta, type Meta } from './errors.js'
import type { HubDeps } from './hub/ports.js'
import type { RateLimiter } from './rate-limit.js'
import { TtlCache } from './ttl-cache.js'
import type { AppStats, WebhooksPort } from './webhooks-port.js'

export type { AppStats, StatMetric, StatSample } from './webhooks-port.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route is called per message at high rates and writes nothing the request caches hold
     * (API keys, numbers, media providers, callback backlog), so completing it does not clear them.
     */
    keepCaches?: boolean
  }
}

/** Overrides where `/v1/stats/app` comes from (tests); default `webhooks.stats`. */
export type StatsProvider = (phoneNumberId: string) => Promise<AppStats>

export interface WebAppLimits {
  /** `/v1/messages`: 50 requests/s, bursts to 150 per number (onprem-api.md §9.1). */
  messagesPerSecond: number
  messagesBurst: number
  /** Cloud `POST /{phone_number_id}/messages`: 80 messages/s per number (Meta's default throughput), bursts to 240. */
  cloudMessagesPerSecond: number
  cloudMessagesBurst: number
  /** Every other endpoint: 20 requests/s, bursts to 60. */
  otherPerSecond: number
  otherBurst: number
  /** Pending callbacks of a number above which sends answer 503 / 1016. */
  overloadThreshold: number
  /** How long a number's callback backlog count is cached. */
  overloadCacheMs: number
  /**
   * How long API keys, numbers and media providers are cached. Writes through this process's API
   * clear the caches; another process's (`wabox keys revoke`, a second instance) apply within it.
   */
  lookupCacheMs: number
  jsonBodyBytes: number
  mediaBodyBytes: number
  /** Longest time to receive a whole request (a 100 MB media upload included); answered 408 past it. */
  requestTimeoutMs: number
  /** A connection with no traffic for this long is closed. */
  idleTimeoutMs: number
  /**
   * How long a Cloud template send waits for the number's templates (from the network) to check
   * the template now; past it the send is accepted and the engine checks before sending.
   */
  templateCheckMs: number
  /** How long setting a webhook URL waits for its host name to resolve before accepting it unchecked (delivery checks again). */
  webhookDnsTimeoutMs: number
  /** How long the GET verification handshake of a Cloud webhook URL may take before the URL is refused. */
  webhookHandshakeTimeoutMs: number
  /**
   * Partner API requests that check a two-step PIN (register, region change), per partner: each
   * wrong PIN costs a scrypt hash, and a six-digit PIN must not be guessed. 1/s, bursts to 30.
   */
  partnerPinChecksPerSecond: number
  partnerPinChecksBurst: number
}

export const DEFAULT_LIMITS: Readonly<WebAppLimits> = Object.freeze({
  messagesPerSecond: 50,
  messagesBurst: 150,
  cloudMessagesPerSecond: 80,
  cloudMessagesBurst: 240,
  otherPerSecond: 20,
  otherBurst: 60,
  overloadThreshold: 100_000,
  overloadCacheMs: 2000,
  lookupCacheMs: 1000,
  templateCheckMs: 2000,
  jsonBodyBytes: 1024 * 1024,
  mediaBodyBytes: 100 * 1024 * 1024,
  requestTimeoutMs: UPLOAD_REQUEST_TIMEOUT_MS,
  idleTimeoutMs: IDLE_SOCKET_TIMEOUT_MS,
  webhookDnsTimeoutMs: 2000,
  webhookHandshakeTimeoutMs: 5000,
  partnerPinChecksPerSecond: 1,
  partnerPinChecksBurst: 30,
})

export interface TlsMaterial {
  key: string
  /** Leaf certificate followed by its chain. */
  cert: string
}

/**
 * The GET verification handshake a Cloud webhook URL must pass before it is stored:
 * `CallbackVerifier` of src/webhooks/handshake.ts, passed in by the composition root.
 */
export interface CallbackVerifierPort {
  verify(req: { url: string; verifyToken: string; policy: UrlPolicy; timeoutMs: number }): Promise<{ ok: true } | { ok: false; problem: string }>
}

export interface WebAppDeps {
  store: Store
  clock: Clock
  bridge: CoreBridge
  media: MediaVolume
  /** A pino logger (Fastify's `loggerInstance`); false or absent = silent. */
  logger?: FastifyBaseLogger | false
  /** Reported in `meta.version`. */
  version: string
  registry: Registry
  statsProvider?: StatsProvider
  /** Callback visibility, replay, stats, the signing secret and rendering: `WebhookService` of src/webhooks. */
  webhooks: WebhooksPort
  /** Verifies Cloud webhook URLs (`/{app_id}/subscriptions` and the overrides) with Meta's GET handshake. */
  callbackVerifier: CallbackVerifierPort
  /** Called after messages were queued, so an in-process CoreApp sends them without waiting for its poll. */
  onMessagesQueued?: (phoneNumberId: string) => void
  /** TLS material lives in `<dataDir>/tls`. */
  dataDir: string
  limits?: Partial<WebAppLimits>
  /** Accept http:// webhook URLs to loopback hosts (dev profile). */
  allowInsecureWebhooks?: boolean
  /** Accept webhook URLs to private, loopback and link-local addresses (the dispatcher's allowPrivateNetworks). */
  allowPrivateWebhooks?: boolean
  /** Addresses of a webhook host name, checked when the URL is set; default: the system resolver. */
  resolveWebhookHost?: (hostname: string) => Promise<string[]>
  /** Serve HTTPS with this material (startWebServer sets it). */
  https?: TlsMaterial
  /** Called after `/v1/certificates/external` stored a new certificate. */
  onCertificateChange?: (tls: TlsMaterial) => void
  /** `node` label of the metrics; default the host name. */
  nodeName?: string
  /** The Hub's view of the simulated phones and its change notices (src/cli/hub-wiring.ts). */
  hub?: HubDeps
  /** A multi-node deployment: `/v1/health` lists each CoreApp node that beat within `unhealthyMs`, with its role. */
  cluster?: { unhealthyMs: number }
}

/** What route modules share: the deps and small helpers bound to them. */
export class WebContext {
  readonly limits: WebAppLimits
  readonly meta: Meta
  /** Pending callbacks per number, for the overload check of sends. */
  readonly backlog: TtlCache<number>
  /** Active API keys by secret (bearer tokens are not cached: they expire by time). */
  readonly apiKeys: TtlCache<ApiKeyInfo | undefined>
  /** Names of each number's media providers, which sends check `provider.name` against. */
  readonly mediaProviders: TtlCache<readonly string[]>
  /**
   * Each number's templates as the network answered them, for the checks a send answers at once;
   * undefined while the number cannot reach the network (the engine checks before sending anyway).
   */
  readonly templates: TtlCache<TemplatePack | undefined>
  readonly #numbers: TtlCache<PhoneNumberRow | undefined>
  /** Accepted outbound messages: requests arriving together share one insert and one commit. */
  readonly intake: BatchWriter<OutboundMessage>

  constructor(
    readonly deps: WebAppDeps,
    readonly rateLimiter: RateLimiter,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...deps.limits }
    this.meta = meta(deps.version)
    const { clock, store } = deps
    const ttl = this.limits.lookupCacheMs
    this.backlog = new TtlCache(clock, this.limits.overloadCacheMs, (id) => store.callbacks.pendingCount(id))
    this.apiKeys = new TtlCache(clock, ttl, (secret) => store.apiKeys.verify(secret))
    this.mediaProviders = new TtlCache(clock, ttl, async (id) => (await store.profiles.mediaProviders(id)).map((p) => p.name))
    this.templates = new TtlCache(clock, ttl, (id) => deps.bridge.templates(id).catch(() => undefined))
    this.#numbers = new TtlCache(clock, ttl, (id) => store.numbers.get(id))
    this.intake = outboundIntake(store)
  }

  /** After a request that may have written: the next request reads everything afresh. */
  clearCaches(): void {
    // a write may have changed where or how callbacks go: a dispatcher in this process reloads now
    this.deps.webhooks.configChanged()
    this.backlog.clear()
    this.apiKeys.clear()
    this.mediaProviders.clear()
    this.templates.clear()
    this.#numbers.clear()
  }

  get store(): Store {
    return this.deps.store
  }

  /** A success body: the payload plus `meta`. */
  ok<T extends object>(body?: T): T & { meta: Meta } {
    return { ...(body ?? ({} as T)), meta: this.meta }
  }

  /** A number by id, through the lookup cache (undefined if there is none). */
  numberById(id: string): Promise<PhoneNumberRow | undefined> {
    return this.#numbers.get(id)
  }

  /** The number the caller acts on; 1011 if the deployment has none yet. */
  async number(request: FastifyRequest): Promise<PhoneNumberRow> {
    const id = request.phoneNumberId
    const row = id ? await this.#numbers.get(id) : undefined
    if (!row) {
      throw new WaboxError(OnPremCode.SERVICE_NOT_READY,
        'No phone number is provisioned for this caller yet; register one with POST /v1/account')
    }
    return row
  }
}
