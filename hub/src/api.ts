import { useEffect, useState } from 'preact/hooks'

/** An answer of the Hub API other than 2xx, with the error it carried. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | string | undefined,
    message: string,
  ) {
    super(message)
  }
}

/** Calls `/hub/api/<path>` with the session cookie; JSON both ways. */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/hub/api/${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const json = (await res.json().catch(() => ({}))) as { error?: { code?: number | string; details?: string; title?: string } }
  if (!res.ok) throw new ApiError(res.status, json.error?.code, json.error?.details ?? json.error?.title ?? `HTTP ${res.status}`)
  return json as T
}

export type Topic = 'messages' | 'callbacks' | 'phones' | 'metrics'
type Listener = (topic: Topic) => void

const listeners = new Set<Listener>()
let source: EventSource | undefined

/** One event stream per page, shared by every view. */
function connect(): void {
  if (source) return
  source = new EventSource('/hub/api/events')
  source.addEventListener('change', (e) => {
    const topic = (e as MessageEvent<string>).data as Topic
    for (const l of listeners) l(topic)
  })
}

export function disconnect(): void {
  source?.close()
  source = undefined
}

/**
 * Loads with `load` and loads again whenever the server reports a change of one of `topics`
 * (no polling: the server pushes the notices). `deps` reload it too.
 */
export function useLive<T>(topics: Topic[], load: () => Promise<T>, deps: unknown[] = []): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<string>()
  const [version, setVersion] = useState(0)
  useEffect(() => {
    let live = true
    load().then((d) => live && (setData(d), setError(undefined)), (e: unknown) => live && setError(String((e as Error).message ?? e)))
    return () => {
      live = false
    }
  }, [version, ...deps])
  useEffect(() => {
    connect()
    const listener: Listener = (topic) => topics.includes(topic) && setVersion((v) => v + 1)
    listeners.add(listener)
    return () => void listeners.delete(listener)
  }, [topics.join()])
  return { data, error, reload: () => setVersion((v) => v + 1) }
}

export interface NumberInfo {
  id: string
  waId: string
  displayName: string
  platform: string
  status: string
  health: string
  /** GREEN, YELLOW, RED or UNKNOWN, as the network last reported it. */
  quality: string
  /** The messaging limit tier (TIER_250 … TIER_UNLIMITED), once the network reported one. */
  tier: string | null
  webhookUrl: string | null
  /** Which setting decides it: phone or WABA override, app subscription, or the number's URL setting. */
  webhookLevel: 'phone' | 'waba' | 'app' | 'number_setting' | null
  /** The data-residency region its content is kept in; null: the home store. */
  region: string | null
  delivery: { attempts: number; succeeded: number }
  backlog: { pending: number; dead: number }
}

export type { HubAttempt as Attempt, HubCallback as Callback, HubConversation as Conversation, HubMessage as Message, HubStatus as Status } from '../../src/store/hub-types'
export type { ChartPoint, HubPhoneMessage as PhoneMessage, HubPhoneSummary as PhoneInfo } from '../../src/webapp/hub/ports'
