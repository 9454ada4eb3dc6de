/**
 * How long a notice to another thread or process (messages queued, callbacks committed) waits
 * for company. Each notice wakes its receiver on another core, and a receiver woken less often
 * takes bigger batches. At 600 msg/s, 5 ms instead of the next event-loop turn saved wabox 5 %
 * and the phones 13 % of their CPU per message, and messages were delivered sooner
 * (docs/benchmarks.md, seventh pass).
 */
export const NOTICE_LINGER_MS = 5

/**
 * A notice that lingers: the calls of the next NOTICE_LINGER_MS become one `send`, with the
 * distinct items they named.
 */
export function lingeringNotice<T = void>(send: (items: T[]) => void): (item: T) => void {
  const items = new Set<T>()
  return (item) => {
    if (items.size === 0) {
      setTimeout(() => {
        const batch = [...items]
        items.clear()
        send(batch)
      }, NOTICE_LINGER_MS)
    }
    items.add(item)
  }
}
