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

/** Told when the server no longer knows the session (signed out in another tab, expired, revoked). */
let onSignedOut: () => void = () => {}
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler
}

/** Whether the server answers; the page says so instead of showing empty lists while it does not. */
let offline = false
const connectionListeners = new Set<(offline: boolean) => void>()
function setOffline(value: boolean): void {
  if (offline === value) return
  offline = value
  for (const l of connectionListeners) l(value)
}

export function useOffline(): boolean {
  const [value, setValue] = useState(offline)
  useEffect(() => {
    connectionListeners.add(setValue)
    return () => void connectionListeners.delete(setValue)
  }, [])
  return value
}

const OFFLINE = 'offline'

/** Calls `/hub/api/<path>` with the session cookie; JSON both ways. */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let res: Response
  try {
    res = await fetch(`/hub/api/${path}`, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  } catch {
    // no answer at all: wabox is down or restarting; the event stream says when it is back
    setOffline(true)
    throw new ApiError(0, OFFLINE, 'wabox is not answering (offline): try again once it is back')
  }
  setOffline(false)
  const json = (await res.json().catch(() => ({}))) as { error?: { code?: number | string; details?: string; title?: string } }
  // the session's own route answers 401 for a wrong password or no session yet: the login page handles it
  if (res.status === 401 && path !== 'session') onSignedOut()
  if (!res.ok) throw new ApiError(res.status, json.error?.code, json.error?.details ?? json.error?.title ?? `HTTP ${res.status}`)
  return json as T
}

/** A change notice, or the stream opening again after wabox was unreachable (every view re-reads). */
export type Topic = 'messages' | 'callbacks' | 'phones' | 'metrics'
type Listener = (topic: Topic | 'reconnected') => void

const listeners = new Set<Listener>()
let source: EventSource | undefined
let retry: ReturnType<typeof setTimeout> | undefined
/** The stream failed since it last opened: when it opens again, what the views show may be stale. */
let lost = false
const RETRY_MS = 2000

/** One event stream per page, shared by every view. */
function connect(): void {
  if (source) return
  const es = new EventSource('/hub/api/events')
  source = es
  es.addEventListener('open', () => {
    setOffline(false)
    if (lost) for (const l of listeners) l('reconnected')
    lost = false
  })
  es.addEventListener('error', () => {
    lost = true
    if (es.readyState !== EventSource.CLOSED) return setOffline(true)
    // the browser gave up (an answer other than the stream, e.g. 401): is the session gone? else retry
    disconnect()
    fetch('/hub/api/session', { credentials: 'same-origin' }).then(
      (res) => (res.status === 401 ? onSignedOut() : void (retry = setTimeout(connect, RETRY_MS))),
      () => {
        setOffline(true)
        retry = setTimeout(connect, RETRY_MS)
      },
    )
  })
  es.addEventListener('change', (e) => {
    const topic = (e as MessageEvent<string>).data as Topic
    for (const l of listeners) l(topic)
  })
}

export function disconnect(): void {
  clearTimeout(retry)
  source?.close()
  source = undefined
}

/**
 * Loads with `load` and loads again whenever the server reports a change of one of `topics`,
 * or the event stream opens again after wabox was unreachable (no polling: the server pushes
 * the notices). `deps` reload it too. While wabox is unreachable the last data stays and no
 * error is given: the page says it is offline.
 */
export function useLive<T>(topics: Topic[], load: () => Promise<T>, deps: unknown[] = []): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<string>()
  const [version, setVersion] = useState(0)
  useEffect(() => {
    let live = true
    load().then((d) => live && (setData(d), setError(undefined)), (e: unknown) => {
      if (!live) return
      setError(e instanceof ApiError && e.code === OFFLINE ? undefined : String((e as Error).message ?? e))
    })
    return () => {
      live = false
    }
  }, [version, ...deps])
  useEffect(() => {
    connect()
    const listener: Listener = (topic) => (topic === 'reconnected' || topics.includes(topic)) && setVersion((v) => v + 1)
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
