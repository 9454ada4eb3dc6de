/** Command-line options of `npm run bench`. */
import fs from 'node:fs'
import { parseArgs } from 'node:util'

/** The processes `--jemalloc` can name, and where Debian-like systems keep the library. */
const JEMALLOC_PROCESSES = ['network', 'phones', 'wabox'] as const
type JemallocProcess = (typeof JEMALLOC_PROCESSES)[number]
const JEMALLOC_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2', '/usr/lib64/libjemalloc.so.2', '/usr/local/lib/libjemalloc.so.2',
]

export interface BenchOptions {
  durationS: number
  /** undefined = `--max`. */
  rate: number | undefined
  phones: number
  newUsers: number
  inbound: number
  db: 'sqlite' | 'postgres' | 'mysql'
  concurrency: number
  /** null = the number's default (50 events per POST for the On-Prem format). */
  webhookBatch: number | null
  webhookConcurrency: 6 | 12 | 18 | 24
  /** Also send a `sent` callback per message (the number's sent_status setting; off by default, as on On-Prem). */
  sentStatus: boolean
  floorDurationS: number
  /** Nice value of the network and phones processes: the world around wabox, on other machines in real life. */
  worldNice: number
  json: string | undefined
  drainTimeoutS: number
  /** The production shape (bench/cluster.ts) with this many `wabox coreapp` processes; undefined = `wabox start`'s composition. */
  coreapps: number | undefined
  /** window: one measured window; sustain: steps of the offered rate; soak: a long run reported per minute. */
  mode: 'window' | 'sustain' | 'soak'
  sustainStepMps: number
  soakMinutes: number
  /** Length of a soak "minute" in seconds: 60, shorter only to try the mode out. */
  soakMinuteS: number
  /** How long the webhook receiver waits before it answers each POST. */
  webhookLatencyMs: number
  /** onprem: the On-Prem number, `/v1/messages`; cloud: the Cloud-hosted number, Graph sends and Cloud webhooks. */
  format: 'onprem' | 'cloud'
  /** Phones that get their first message in the window (no session yet): one message each. */
  newUserPhones: number
  /** The processes that run with jemalloc preloaded, and the library's path (null: none found). */
  jemalloc: JemallocProcess[]
  jemallocPath: string | null
}

const HELP = `npm run bench -- [options]

Modes (default: one measured window):
  --sustain               find the highest offered rate that holds, on one running world: steps from --rate
                          by --sustain-step, then bisects between the last step that held and the first that
                          did not, each step a window of --duration s; a step holds when delivered/s >= 98 % of
                          offered, the backlog (accepted - delivered, read off a line fitted through the second
                          half's samples) at the window's end is at most 2 % of a second's worth above its middle,
                          and p99 accept < 50 ms; the step's messages drain before the next step
  --sustain-step R        rate step of --sustain, messages/s (default 250)
  --soak                  --soak-minutes of load at --rate with --inbound at 10 % of it unless given, reported
                          per minute (throughput, p99 accept, wabox RSS, database size)
  --soak-minutes M        length of --soak (default 10)
  --soak-minute-s S       TRY-OUT ONLY: a soak "minute" of S seconds instead of 60, to check the mode quickly

  --duration S            measured window in seconds (default 30; per step in --sustain)
  --rate R                offered load, messages/s (default 1000; the first step in --sustain)
  --max                   closed loop: as fast as --concurrency clients get answers (not with --sustain, --soak)
  --phones N              simulated phones (default 100)
  --new-users F           share of the messages that go to a phone with no Signal session (pre-key fetch and
                          session setup), 0..1 (default 0). Each such phone gets one message, so the run needs
                          F x rate x duration of them: pass --phones of at least that, plus some for the other
                          messages when F < 1 (--new-users 1 at 1000 msg/s for 10 s: --phones 10000). Not with
                          --sustain or --soak
  --inbound R             phones also send R messages/s to the business (default 0; --soak: 10 % of --rate)
  --format onprem|cloud   onprem (default): the On-Prem number, POST /v1/messages, On-Prem webhooks (up to 50
                          events per POST); cloud: the Cloud-hosted number, POST /{version}/{phone_number_id}/messages
                          with its access token, Cloud webhooks (one event per POST); not with --coreapps
  --db sqlite|postgres|mysql
                          postgres: WABOX_BENCH_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test;
                          mysql: WABOX_BENCH_MYSQL_URL or mysql://root@127.0.0.1:3306/test; a fresh database dropped after
  --concurrency C         keep-alive connections of the load generator = most requests in flight (default 64)
  --webhook-batch B       webhooks.batch_size (default: the format's, 50 for On-Prem, 1 for Cloud)
  --webhook-concurrency C webhooks.max_concurrent_requests: 6, 12, 18 or 24 (default 6)
  --webhook-latency-ms N  the webhook receiver answers each POST after N ms, on a timer (default 0)
  --sent-status           turn on the sent_status setting: a sent callback per message too (default off, as on On-Prem;
                          a Cloud-hosted number always sends it, so --format cloud implies it)
  --floor-duration S      window of the floor run, after a one-window run (default 10; 0 skips it)
  --world-nice N          nice value of the network and phones processes, 0..19 (default 10): they stand
                          for the rest of the world, so when the two cores are short wabox and the
                          load generator go first; 0 runs all four processes alike
  --jemalloc LIST         the processes, among network, phones and wabox, that run with jemalloc preloaded
                          (Debian's libjemalloc2, or WABOX_BENCH_JEMALLOC=path to libjemalloc.so.2), or none;
                          default network,phones where the library is installed, else none: the phones' Signal
                          decryption costs half as much CPU with it (docs/benchmarks.md, ninth pass)
  --drain-timeout S       after the window (each step of --sustain), how long to wait for outstanding deliveries
                          without any progress (default 60)
  --json FILE             write the results as one JSON object (its fields: docs/benchmarks.md)
  --coreapps N            the production shape instead of one process (needs --db postgres): N \`wabox coreapp\`,
                          one \`wabox webapp\` and one \`wabox webhooks\`; the number gets the next power of two of N shards
`

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' }, rate: { type: 'string' }, max: { type: 'boolean' }, phones: { type: 'string' },
      'new-users': { type: 'string' }, inbound: { type: 'string' }, db: { type: 'string' }, concurrency: { type: 'string' },
      'webhook-batch': { type: 'string' }, 'webhook-concurrency': { type: 'string' }, 'floor-duration': { type: 'string' },
      'sent-status': { type: 'boolean' }, 'drain-timeout': { type: 'string' }, 'world-nice': { type: 'string' }, json: { type: 'string' }, coreapps: { type: 'string' }, help: { type: 'boolean' },
      sustain: { type: 'boolean' }, 'sustain-step': { type: 'string' }, soak: { type: 'boolean' }, 'soak-minutes': { type: 'string' },
      'soak-minute-s': { type: 'string' }, 'webhook-latency-ms': { type: 'string' }, format: { type: 'string' },
      jemalloc: { type: 'string' },
    },
  })
  if (values.help) {
    console.log(HELP)
    process.exit(0)
  }
  const num = (name: string, raw: string | undefined, fallback: number, min: number, max = Infinity): number => {
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min || n > max) {
      console.error(`bench: --${name} must be a number from ${min} to ${max}\n\n${HELP}`)
      process.exit(2)
    }
    return n
  }
  const refuse = (why: string): never => {
    console.error(`bench: ${why}`)
    process.exit(2)
  }
  if (values.max && values.rate !== undefined) refuse('--rate and --max exclude each other')
  if (values.sustain && values.soak) refuse('--sustain and --soak exclude each other')
  const mode = values.sustain ? 'sustain' : values.soak ? 'soak' : 'window'
  if (mode !== 'window' && values.max) refuse(`--${mode} needs a rate, not --max`)
  const format = values.format ?? 'onprem'
  if (format !== 'onprem' && format !== 'cloud') refuse('--format must be onprem or cloud')
  if (format === 'cloud' && values.coreapps !== undefined) refuse('--format cloud is not available with --coreapps (`wabox webapp` keeps the Cloud send limit of 80/s)')
  const db = values.db ?? 'sqlite'
  if (db !== 'sqlite' && db !== 'postgres' && db !== 'mysql') {
    console.error('bench: --db must be sqlite, postgres or mysql')
    process.exit(2)
  }
  const webhookConcurrency = num('webhook-concurrency', values['webhook-concurrency'], 6, 6, 24)
  if (![6, 12, 18, 24].includes(webhookConcurrency)) {
    console.error('bench: --webhook-concurrency must be 6, 12, 18 or 24')
    process.exit(2)
  }
  const durationS = num('duration', values.duration, 30, 1)
  const rate = values.max ? undefined : num('rate', values.rate, 1000, 1)
  const phones = Math.round(num('phones', values.phones, 100, 1, 100_000))
  const newUsers = num('new-users', values['new-users'], 0, 0, 1)
  if (newUsers > 0 && mode !== 'window') refuse(`--new-users is not available with --${mode}: every step would need rate x duration phones of its own`)
  // with a rate the window needs exactly this many; closed loop, the share of the phones
  const newUserPhones = rate === undefined ? Math.round(phones * newUsers) : Math.ceil(newUsers * rate * durationS)
  if (newUserPhones > phones || (newUsers < 1 && newUserPhones === phones)) {
    refuse(`--new-users ${newUsers} at ${rate} msg/s for ${durationS} s sends ${newUserPhones} messages to phones with no session, one each: pass --phones ${newUserPhones}${newUsers < 1 ? ' or more (plus phones for the other messages)' : ''}`)
  }
  const jemallocPath = process.env.WABOX_BENCH_JEMALLOC ?? JEMALLOC_PATHS.find((p) => fs.existsSync(p)) ?? null
  // the simulated world (ours, not what is measured) runs on jemalloc by default where it is installed
  const jemalloc = (values.jemalloc ?? (jemallocPath ? 'network,phones' : 'none')).split(',').filter((p) => p && p !== 'none')
  const unknown = jemalloc.find((p) => !(JEMALLOC_PROCESSES as readonly string[]).includes(p))
  if (unknown) refuse(`--jemalloc names ${unknown}: the processes are ${JEMALLOC_PROCESSES.join(', ')}, or none`)
  if (jemalloc.length && !jemallocPath) refuse('--jemalloc: libjemalloc.so.2 was not found (install libjemalloc2, or set WABOX_BENCH_JEMALLOC to its path)')
  return {
    durationS,
    rate,
    phones,
    newUsers,
    newUserPhones,
    inbound: num('inbound', values.inbound, mode === 'soak' && rate !== undefined ? rate / 10 : 0, 0),
    db,
    concurrency: Math.round(num('concurrency', values.concurrency, 64, 1, 4096)),
    webhookBatch: values['webhook-batch'] === undefined ? null : Math.round(num('webhook-batch', values['webhook-batch'], 1, 1, 1000)),
    webhookConcurrency: webhookConcurrency as 6 | 12 | 18 | 24,
    sentStatus: (values['sent-status'] ?? false) || format === 'cloud',
    floorDurationS: num('floor-duration', values['floor-duration'], 10, 0),
    drainTimeoutS: num('drain-timeout', values['drain-timeout'], 60, 1),
    worldNice: Math.round(num('world-nice', values['world-nice'], 10, 0, 19)),
    json: values.json,
    coreapps: values.coreapps === undefined ? undefined : Math.round(num('coreapps', values.coreapps, 1, 1, 32)),
    mode,
    sustainStepMps: num('sustain-step', values['sustain-step'], 250, 1),
    soakMinutes: Math.round(num('soak-minutes', values['soak-minutes'], 10, 1)),
    soakMinuteS: num('soak-minute-s', values['soak-minute-s'], 60, 1),
    webhookLatencyMs: num('webhook-latency-ms', values['webhook-latency-ms'], 0, 0),
    format: format as 'onprem' | 'cloud',
    jemalloc: jemalloc as JemallocProcess[],
    jemallocPath,
  }
}

/** The environment that preloads jemalloc into the process `name` when `--jemalloc` names it. */
export function allocatorEnv(opts: BenchOptions, name: JemallocProcess): NodeJS.ProcessEnv {
  if (!opts.jemalloc.includes(name) || !opts.jemallocPath) return {}
  return { LD_PRELOAD: [opts.jemallocPath, process.env.LD_PRELOAD].filter(Boolean).join(' ') }
}
