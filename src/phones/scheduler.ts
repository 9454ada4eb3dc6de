/** Runs delayed phone behaviours (auto-read); tests swap in a scheduler they drive by hand. */
export interface Scheduler {
  /** Runs `task` after `delayMs`; the returned function cancels it. */
  after(delayMs: number, task: () => void): () => void
}

export const timerScheduler: Scheduler = {
  after(delayMs, task) {
    const timer = setTimeout(task, delayMs)
    timer.unref()
    return () => clearTimeout(timer)
  },
}
