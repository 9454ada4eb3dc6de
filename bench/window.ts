/**
 * One measured window on a running world: the load at a rate for a duration, what was
 * accepted (when, how fast), the backlog as it went, every process's usage at both ends and
 * the receiver's counters. The figures are computed from it in bench/report.ts.
 */
import { LoadGenerator, type LoadResult } from './load.js'
import type { Usages, World } from './world.js'

export interface Accepted {
  to: string
  at: number
  latencyMs: number
}

/** The receiver's counters at a moment. */
export interface HookCounters {
  statusEvents: number
  posts: number
  connections: number
  inbound: number
}

export interface WindowRecord {
  rate: number | undefined
  accepted: Map<string, Accepted>
  result: LoadResult
  t0: number
  tEnd: number
  windowS: number
  before: Usages
  after: Usages
  hookBefore: HookCounters
  hookAfter: HookCounters
  /** accepted − delivered (messages of this window), sampled every 100 ms; t in ms since the start. */
  backlog: { t: number; n: number }[]
  /** Messages sent to phones with no session. */
  newUsersOffered: number
}

export interface WindowOptions {
  rate: number | undefined
  durationS: number
  /** Print a line per second. */
  progress: boolean
  /** Called once a second with the time since the start (s), e.g. a soak's minute boundary. */
  onSecond?: (elapsedS: number) => Promise<void> | void
}

const log = (line: string) => console.log(line)

export function hookCounters(world: World): HookCounters {
  const r = world.receiver
  return { statusEvents: r.statusEvents, posts: r.posts, connections: r.connections, inbound: r.inbound.size }
}

export async function measureWindow(world: World, o: WindowOptions): Promise<WindowRecord> {
  const { receiver, sender, opts } = world
  const accepted = new Map<string, Accepted>()
  let delivered = 0
  // a callback can be read before the answer that accepted its message: counted once both are in
  const early = new Set<string>()
  const onStatus = (status: string, id: string) => {
    if (status !== 'delivered' || receiver.statuses.get('delivered')?.get(id)?.length !== 1) return
    if (accepted.has(id)) delivered++
    else early.add(id)
  }
  receiver.listeners.push(onStatus)
  const load = new LoadGenerator({
    origin: sender.origin, path: sender.path, headers: sender.headers, rate: o.rate, concurrency: opts.concurrency, durationS: o.durationS,
    next: (i) => world.next(i),
    onAccepted: (id, to, at, latencyMs) => {
      accepted.set(id, { to, at, latencyMs })
      if (early.delete(id)) delivered++
    },
  })
  const freshBefore = world.freshUsed
  const before = await world.usage()
  const hookBefore = hookCounters(world)
  const backlog: { t: number; n: number }[] = []
  const t0 = performance.now()
  // usage and counters at the window's end, not once the last requests have been answered
  const atEnd = new Promise<{ usage: Usages; hook: HookCounters }>((resolve, reject) => setTimeout(() => {
    const hook = hookCounters(world)
    world.usage().then((u) => resolve({ usage: u, hook }), reject)
  }, o.durationS * 1000))
  let last = { t: t0, accepted: 0, delivered: 0, inbound: hookBefore.inbound }
  const sampler = setInterval(() => backlog.push({ t: performance.now() - t0, n: load.accepted - delivered }), 100)
  let seconds = 0
  let busy = Promise.resolve()
  const ticker = setInterval(() => {
    const now = performance.now()
    seconds++
    if (o.progress) {
      const dt = (now - last.t) / 1000
      const inbound = receiver.inbound.size
      log(`[${String(seconds).padStart(3)} s] accepted ${load.accepted} (${Math.round((load.accepted - last.accepted) / dt)}/s)  delivered ${delivered} (${Math.round((delivered - last.delivered) / dt)}/s)  backlog ${load.accepted - delivered}  requests open ${load.inFlight}  inbound ${Math.round((inbound - last.inbound) / dt)}/s`)
      last = { t: now, accepted: load.accepted, delivered, inbound }
    }
    const at = seconds
    if (o.onSecond) busy = busy.then(() => o.onSecond!(at))
  }, 1000)
  const result = await load.run()
  clearInterval(sampler)
  clearInterval(ticker)
  await busy
  const tEnd = t0 + o.durationS * 1000
  const { usage: after, hook: hookAfter } = await atEnd
  await load.close()
  receiver.listeners.splice(receiver.listeners.indexOf(onStatus), 1)
  return { rate: o.rate, accepted, result, t0, tEnd, windowS: o.durationS, before, after, hookBefore, hookAfter, backlog, newUsersOffered: world.freshUsed - freshBefore }
}

/**
 * Waits until every id of `ids` has reached its phone and has its delivered callback, and
 * (with `inbound`, once the phones stopped sending) every inbound message its webhook, or
 * until nothing moved for `timeoutS`. Returns how many are still outstanding.
 */
export async function drain(world: World, ids: Iterable<string>, timeoutS: number, inbound = true): Promise<number> {
  const pending = new Set(ids)
  const outstanding = () => {
    const delivered = world.receiver.statuses.get('delivered')
    for (const id of pending) if (world.atPhone.has(id) && delivered?.has(id)) pending.delete(id)
    let n = pending.size
    if (inbound) for (const id of world.inboundSent) if (!world.receiver.inbound.has(id)) n++
    return n
  }
  let lastOutstanding = -1
  let lastChange = performance.now()
  while (true) {
    const n = outstanding()
    if (n === 0) return 0
    if (n !== lastOutstanding) [lastOutstanding, lastChange] = [n, performance.now()]
    if (performance.now() - lastChange > timeoutS * 1000) {
      log(`bench: ${n} still outstanding after ${timeoutS} s without progress`)
      return n
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
