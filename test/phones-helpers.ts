import type { EventEmitter } from 'node:events'

/**
 * Resolves with the first `event` whose arguments pass `match`. Call it before the action
 * that causes the event; rejects after `timeoutMs` so a missing event fails fast and clearly.
 */
export function waitFor<T = unknown>(emitter: EventEmitter, event: string, match: (value: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (value: T) => {
      if (!match(value)) return
      clearTimeout(timer)
      emitter.off(event, onEvent)
      resolve(value)
    }
    const timer = setTimeout(() => {
      emitter.off(event, onEvent)
      reject(new Error(`timed out waiting for ${event}`))
    }, timeoutMs)
    emitter.on(event, onEvent)
  })
}
