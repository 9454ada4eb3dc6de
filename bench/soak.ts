/**
 * `--soak`: `--soak-minutes` of load at `--rate` (inbound at 10 % of it unless given), one
 * window reported per minute: throughput, p99 accept, wabox's RSS and the database's size.
 * At the end: whether the last minute is within 10 % of the first, and the highest RSS.
 */
import { percentile, round } from './report.js'
import { measureWindow, type WindowRecord } from './window.js'
import type { World } from './world.js'

/** The last minute may differ from the first by this share, in throughput and p99 accept. */
const FLAT = 0.1

export interface SoakMinute {
  minute: number
  accepted_mps: number
  delivered_mps: number
  p99_accept_ms: number
  /** wabox's own p99 accept (its summary over the last 30–60 s), read at the minute's end. */
  server_p99_accept_ms: number | null
  wabox_rss_mb: number
  db_bytes: number
  /** SQLite's WAL at the minute's end (included in db_bytes). */
  wal_bytes: number
  /** The simulated world's memory: whether it grows over the soak too. */
  network_rss_mb: number
  phones_rss_mb: number
}

export interface SoakResult {
  soak_minutes: SoakMinute[]
  /** Last minute against the first: within 10 % in delivered/s, accepted/s and p99 accept. */
  soak_flat: { delivered: boolean; accepted: boolean; p99_accept: boolean }
  soak_wabox_rss_max_mb: number
  soak_db_bytes_growth: number
  /** The whole soak as one window. */
  record: WindowRecord
}

const within = (last: number, first: number) => Math.abs(last - first) <= FLAT * first

export async function soak(world: World): Promise<SoakResult> {
  const { opts } = world
  const minuteS = opts.soakMinuteS
  const samples: { rssMb: number; dbBytes: number; walBytes: number; networkRssMb: number; phonesRssMb: number; serverP99: number | null }[] = []
  const dbBefore = await world.dbBytes()
  console.log(`bench: soak of ${opts.soakMinutes} minutes${minuteS !== 60 ? ` of ${minuteS} s (try-out)` : ''} at ${opts.rate} msg/s, inbound ${opts.inbound}/s, database ${dbBefore} bytes`)
  const sample = async () => {
    const [{ wabox, network, phones }, dbBytes, serverP99] = await Promise.all([world.usage(), world.dbBytes(), world.serverP99AcceptMs()])
    const walBytes = world.walBytes()
    samples.push({ rssMb: wabox.rssMb, dbBytes, walBytes, networkRssMb: network.rssMb, phonesRssMb: phones.rssMb, serverP99 })
    console.log(`[minute ${samples.length}] wabox RSS ${wabox.rssMb} MB, database ${dbBytes} bytes (WAL ${walBytes}), network RSS ${network.rssMb} MB, phones RSS ${phones.rssMb} MB, wabox's p99 accept ${serverP99 === null ? '—' : round(serverP99)} ms`)
  }
  const rec = await measureWindow(world, {
    rate: opts.rate, durationS: opts.soakMinutes * minuteS, progress: false,
    onSecond: (s) => (s % minuteS === 0 && samples.length < opts.soakMinutes ? sample() : undefined),
  })
  // the window's last tick may come after the load stopped
  while (samples.length < opts.soakMinutes) await sample()

  // per minute, from what the load generator and the receiver recorded
  const delivered = world.receiver.statuses.get('delivered')
  const minutes: SoakMinute[] = samples.map((sample, m) => {
    const from = rec.t0 + m * minuteS * 1000
    const to = from + minuteS * 1000
    const latencies: number[] = []
    let deliveredIn = 0
    for (const [id, a] of rec.accepted) {
      if (a.at >= from && a.at < to) latencies.push(a.latencyMs)
      const first = delivered?.get(id)?.[0]
      if (first !== undefined && first >= from && first < to) deliveredIn++
    }
    latencies.sort((a, b) => a - b)
    return {
      minute: m + 1,
      accepted_mps: round(latencies.length / minuteS),
      delivered_mps: round(deliveredIn / minuteS),
      p99_accept_ms: round(percentile(latencies, 0.99)),
      server_p99_accept_ms: sample.serverP99 === null ? null : round(sample.serverP99),
      wabox_rss_mb: sample.rssMb,
      db_bytes: sample.dbBytes,
      wal_bytes: sample.walBytes,
      network_rss_mb: sample.networkRssMb,
      phones_rss_mb: sample.phonesRssMb,
    }
  })
  for (const m of minutes) {
    console.log(`minute ${String(m.minute).padStart(2)}: accepted ${m.accepted_mps}/s, delivered ${m.delivered_mps}/s, p99 accept ${m.p99_accept_ms} ms (wabox's own ${m.server_p99_accept_ms ?? '—'} ms), wabox RSS ${m.wabox_rss_mb} MB, database ${m.db_bytes} bytes (WAL ${m.wal_bytes}), network RSS ${m.network_rss_mb} MB, phones RSS ${m.phones_rss_mb} MB`)
  }
  const first = minutes[0]!
  const last = minutes[minutes.length - 1]!
  const flat = {
    delivered: within(last.delivered_mps, first.delivered_mps),
    accepted: within(last.accepted_mps, first.accepted_mps),
    p99_accept: within(last.p99_accept_ms, first.p99_accept_ms),
  }
  const rssMax = Math.max(...minutes.map((m) => m.wabox_rss_mb))
  const yes = (ok: boolean) => (ok ? 'within 10 %' : 'NOT within 10 %')
  console.log(`soak: last minute against the first: delivered ${last.delivered_mps}/${first.delivered_mps} msg/s ${yes(flat.delivered)}, `
    + `accepted ${last.accepted_mps}/${first.accepted_mps} msg/s ${yes(flat.accepted)}, p99 accept ${last.p99_accept_ms}/${first.p99_accept_ms} ms ${yes(flat.p99_accept)}; `
    + `wabox RSS max ${rssMax} MB; database ${dbBefore} → ${last.db_bytes} bytes`)
  return {
    soak_minutes: minutes, soak_flat: flat, soak_wabox_rss_max_mb: rssMax, soak_db_bytes_growth: last.db_bytes - dbBefore, record: rec,
  }
}
