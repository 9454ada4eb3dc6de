/** What changed: each page refreshes what it shows of that topic. */
export type HubTopic = 'messages' | 'callbacks' | 'phones' | 'metrics'

export type HubListener = (topic: HubTopic) => void

/**
 * An in-process fan-out of change notices: the engine, the dispatcher, the phones and the Hub's
 * own writes publish; every open event stream of the Hub subscribes.
 */
export class HubEventBus {
  readonly #listeners = new Set<HubListener>()

  publish(topic: HubTopic): void {
    for (const listener of this.#listeners) listener(topic)
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: HubListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  get listeners(): number {
    return this.#listeners.size
  }
}
