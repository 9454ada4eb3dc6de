import { describe, expect, it } from 'vitest'
import { backlogTrend } from '../bench/report.js'
import { failedConditions, nextRate } from '../bench/sustain.js'

/** A search against a system that holds up to `limit` msg/s: the rates tried, in order. */
function search(start: number, step: number, limit: number): number[] {
  const tried: number[] = []
  let good: number | undefined
  let bad: number | undefined
  let rate: number | undefined = start
  while (rate !== undefined) {
    tried.push(rate)
    if (rate <= limit) good = Math.max(good ?? 0, rate)
    else bad = Math.min(bad ?? Infinity, rate)
    rate = nextRate(step, good, bad)
  }
  return tried
}

describe('bench --sustain: the rate search', () => {
  it('steps up until a step fails, then bisects down to a quarter step', () => {
    expect(search(1000, 250, 1800)).toEqual([1000, 1250, 1500, 1750, 2000, 1875, 1813])
  })

  it('steps down while nothing has held yet, and stops when no rate above 0 is left', () => {
    expect(search(1000, 250, 600)).toEqual([1000, 750, 500, 625, 563])
    expect(search(100, 250, 10)).toEqual([100])
  })
})

describe('bench --sustain: when a step holds', () => {
  const steady = { delivered_mps: 980, backlog_middle: 300, backlog_end: 320, p99_accept_ms: 49.9 }

  it('holds at 98 % delivered, a backlog grown by 2 % of the second half\'s messages, p99 accept under 50 ms', () => {
    // 1,000/s in a 2 s window: 1,000 messages in its second half, 20 of them may still wait
    expect(failedConditions(1000, 2, steady)).toEqual([])
    expect(failedConditions(1000, 30, { ...steady, backlog_end: 300 + 300 })).toEqual([])
  })

  it('names each condition that failed', () => {
    expect(failedConditions(1000, 2, { ...steady, delivered_mps: 979 })).toEqual(['delivered < 98 % of offered'])
    expect(failedConditions(1000, 2, { ...steady, backlog_end: 321 })).toEqual(['backlog grew'])
    expect(failedConditions(1000, 2, { ...steady, p99_accept_ms: 50 })).toEqual(['p99 accept >= 50 ms'])
    expect(failedConditions(1000, 2, { delivered_mps: Number.NaN, backlog_middle: Number.NaN, backlog_end: Number.NaN, p99_accept_ms: Number.NaN })).toHaveLength(3)
  })
})

describe('bench: the backlog trend of a window', () => {
  const samples = (n: (t: number) => number) => Array.from({ length: 300 }, (_, i) => ({ t: (i + 1) * 100, n: n((i + 1) * 100) }))

  it('reads a flat backlog as flat although single samples jump by a whole batch', () => {
    const { middle, end } = backlogTrend(samples((t) => 200 + ((t / 100) % 2 ? 50 : -50)), 30_000)
    expect(Math.abs(end - middle)).toBeLessThan(2)
  })

  it('reads a growing backlog as the growth from the middle to the end', () => {
    const { middle, end } = backlogTrend(samples((t) => 100 + t / 100), 30_000)
    expect(middle).toBeCloseTo(250, 5)
    expect(end).toBeCloseTo(400, 5)
  })
})
