/**
 * The simulated phones of `npm run bench`, in their own process (forked with IPC), connected
 * to the network process like real handsets. It tells the bench which message ids each phone
 * received (so lost and duplicated messages are counted at the phones), sends inbound
 * traffic on request, and reports its own CPU and peak RSS.
 *
 * argv: <network ws url> <network control url> <control token>
 */
import fs from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import { request } from 'undici'
import { fleetPhoneNumber, FLEET_CC } from '../src/phones/phone-fleet.js'
import { Phone } from '../src/phones/phone.js'
import type { ToPhones } from './ipc.js'
import { usage } from './ipc.js'

const logger = pino({ level: process.env.WABOX_BENCH_LOG ?? 'warn' })
// inside the run's folder, which the bench removes even when this process had to be killed
const [networkUrl, controlUrl, controlToken, dir] = process.argv.slice(2) as [string, string, string, string]
fs.mkdirSync(dir, { recursive: true })

/** The registration code the network sent by "SMS", read from its control API. */
async function lastCode(cc: string, phone: string): Promise<string | undefined> {
  const res = await request(`${controlUrl}/control/codes/${cc}/${phone}`, { headers: { authorization: `Bearer ${controlToken}` } })
  const body = (await res.body.json()) as { code?: string }
  return res.statusCode === 200 ? body.code : undefined
}
const phones: Phone[] = []
let received: string[] = []
let inboundTimer: NodeJS.Timeout | undefined
let inboundSent = 0
let inboundFailed = 0

const send = (msg: unknown) => process.send!(msg)

// batched so IPC costs little next to the phones' own work
const flush = setInterval(() => {
  if (received.length === 0) return
  send({ t: 'received', ids: received })
  received = []
}, 100)

async function createPhones(count: number, concurrency: number): Promise<string[]> {
  let next = phones.length
  const end = phones.length + count
  const worker = async () => {
    while (next < end) {
      const i = next++
      const phone = await Phone.start({
        dir: path.join(dir, String(i)), networkUrl, logger, fsync: false, preKeys: 5,
        autoReadDelayMs: null,
        register: { cc: FLEET_CC, phone: fleetPhoneNumber(i + 1), codeSource: lastCode },
      })
      phone.on('message', (view) => received.push(view.id))
      phones[i] = phone
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return phones.map((p) => p.waId)
}

/** Phones send texts to the business at `rate` per second in total, round-robin; ids go to the bench as they are accepted. */
function startInbound(to: string, rate: number, waIds: string[]): void {
  const senders = waIds.map((id) => phones.find((p) => p.waId === id)!).filter(Boolean)
  let i = 0
  let due = 0
  const t0 = performance.now()
  let sentIds: string[] = []
  inboundTimer = setInterval(() => {
    const target = Math.floor(((performance.now() - t0) / 1000) * rate)
    while (due < target) {
      due++
      const phone = senders[i++ % senders.length]!
      phone.send({ to, type: 'text', text: `inbound ${due}` }).then(
        (view) => { inboundSent++; sentIds.push(view.id) },
        () => { inboundFailed++ },
      )
    }
    if (sentIds.length) {
      send({ t: 'inbound-sent', ids: sentIds })
      sentIds = []
    }
  }, 10)
}

async function close(): Promise<void> {
  clearInterval(flush)
  if (inboundTimer) clearInterval(inboundTimer)
  await Promise.all(phones.map((p) => p.close()))
  fs.rmSync(dir, { recursive: true, force: true })
}

process.on('message', (raw) => {
  const msg = raw as ToPhones
  void (async () => {
    try {
      switch (msg.t) {
        case 'phones':
          send({ t: 'phones', waIds: await createPhones(msg.count, msg.concurrency) })
          break
        case 'greet': {
          const byId = new Map(phones.map((p) => [p.waId, p]))
          const ids: string[] = []
          for (let i = 0; i < msg.waIds.length; i += 50) {
            const views = await Promise.all(msg.waIds.slice(i, i + 50).map((id) => byId.get(id)!.send({ to: msg.to, type: 'text', text: 'hi' })))
            ids.push(...views.map((v) => v.id))
          }
          send({ t: 'greeted', ids })
          break
        }
        case 'inbound':
          startInbound(msg.to, msg.rate, msg.waIds)
          break
        case 'inbound-stop':
          if (inboundTimer) clearInterval(inboundTimer)
          inboundTimer = undefined
          send({ t: 'inbound-stopped', sent: inboundSent, failed: inboundFailed })
          break
        case 'usage':
          send({ t: 'usage', usage: usage() })
          break
        case 'close':
          await close()
          send({ t: 'closed' })
          process.exit(0)
      }
    } catch (err) {
      send({ t: 'error', message: (err as Error).stack ?? String(err) })
    }
  })()
})
process.on('disconnect', () => void close().then(() => process.exit(0)))

send({ t: 'ready' })
