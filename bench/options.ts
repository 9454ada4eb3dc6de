/** Command-line options of `npm run bench`. */
import { parseArgs } from 'node:util'

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
}

const HELP = `npm run bench -- [options]

  --duration S            measured window in seconds (default 30)
  --rate R                offered load, messages/s (default 1000)
  --max                   closed loop: as fast as --concurrency clients get answers
  --phones N              simulated phones (default 100)
  --new-users F           share of phones without a Signal session (never got a message): 0..1 (default 0)
  --inbound R             phones also send R messages/s to the business (default 0)
  --db sqlite|postgres|mysql
                          postgres: WABOX_BENCH_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test;
                          mysql: WABOX_BENCH_MYSQL_URL or mysql://root@127.0.0.1:3306/test; a fresh database dropped after
  --concurrency C         keep-alive connections of the load generator = most requests in flight (default 64)
  --webhook-batch B       webhooks.batch_size (default: the number's, 50 for On-Prem)
  --webhook-concurrency C webhooks.max_concurrent_requests: 6, 12, 18 or 24 (default 6)
  --sent-status           turn on the sent_status setting: a sent callback per message too (default off, as on On-Prem)
  --floor-duration S      window of the floor run (default 10; 0 skips it)
  --world-nice N          nice value of the network and phones processes, 0..19 (default 10): they stand
                          for the rest of the world, so when the two cores are short wabox and the
                          load generator go first; 0 runs all four processes alike
  --drain-timeout S       after the window, how long to wait for outstanding deliveries (default 60)
  --json FILE             write the results as one JSON object
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
  if (values.max && values.rate !== undefined) {
    console.error('bench: --rate and --max exclude each other')
    process.exit(2)
  }
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
  return {
    durationS: num('duration', values.duration, 30, 1),
    rate: values.max ? undefined : num('rate', values.rate, 1000, 1),
    phones: Math.round(num('phones', values.phones, 100, 1, 100_000)),
    newUsers: num('new-users', values['new-users'], 0, 0, 1),
    inbound: num('inbound', values.inbound, 0, 0),
    db,
    concurrency: Math.round(num('concurrency', values.concurrency, 64, 1, 4096)),
    webhookBatch: values['webhook-batch'] === undefined ? null : Math.round(num('webhook-batch', values['webhook-batch'], 1, 1, 1000)),
    webhookConcurrency: webhookConcurrency as 6 | 12 | 18 | 24,
    sentStatus: values['sent-status'] ?? false,
    floorDurationS: num('floor-duration', values['floor-duration'], 10, 0),
    drainTimeoutS: num('drain-timeout', values['drain-timeout'], 60, 1),
    worldNice: Math.round(num('world-nice', values['world-nice'], 10, 0, 19)),
    json: values.json,
    coreapps: values.coreapps === undefined ? undefined : Math.round(num('coreapps', values.coreapps, 1, 1, 32)),
  }
}
