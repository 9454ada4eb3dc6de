import { afterAll, beforeAll, expect, it } from 'vitest'
import { request } from 'undici'
import { CloudWorld, type PhoneMessage } from './helpers/cloud-world.js'
import { eventually } from './helpers/wabox-process.js'

/** Message ids of a webhook body, On-Premises (`messages[]`) or Cloud (`entry[].changes[].value.messages[]`) shaped. */
function inboundIds(body: unknown): string[] {
  const b = body as { messages?: { id: string }[]; entry?: { changes?: { value?: { messages?: { id: string }[] } }[] }[] }
  const cloud = (b.entry ?? []).flatMap((e) => e.changes ?? []).flatMap((c) => c.value?.messages ?? [])
  return [...(b.messages ?? []), ...cloud].map((m) => m.id)
}

function counts(ids: string[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const id of ids) out.set(id, (out.get(id) ?? 0) + 1)
  return out
}

// info: the move's downtime is an info line
const world = new CloudWorld({ args: ['--log-level', 'info'] })
beforeAll(async () => world.start(), 120_000)
afterAll(async () => world.close())

it('moves the demo On-Premises number to Cloud while phones keep writing: nothing lost or doubled, no identity change, downtime measured', async () => {
  const { wabox } = world
  const onPrem = wabox.creds.numbers.find((n) => n.platform_type === 'ON_PREMISE')!
  const { base_url: base, api_version: v, access_token: token } = world.cloud
  const call = async (url: string, method: 'GET' | 'POST', body: unknown, headers: Record<string, string>) => {
    const res = await request(base + url, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
  }
  const onPremApi = (url: string, body: unknown) => call(url, 'POST', body, { 'd360-api-key': onPrem.api_key })
  const cloudApi = (url: string, body: unknown) => call(`/${v}${url}`, 'POST', body, { authorization: `Bearer ${token}` })

  expect((await onPremApi('/v1/configs/webhook', { url: world.receiver.url('/onprem') })).status).toBe(200)
  const login = await request(`${base}/v1/users/login`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`admin:${wabox.creds.admin.password}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ new_password: 'M1grat1on!Pass' }),
  })
  const admin = ((await login.body.json()) as { users: [{ token: string }] }).users[0].token

  const phones = world.phones
  const fromPhones: string[] = []
  const fromBusiness: { id: string; to: string }[] = []
  let lastOnPrem = 0
  let firstCloud = 0
  /** The business sends On-Premises until the number answers 403 there, then through the Cloud API. */
  const businessSends = async (to: string, i: number) => {
    const body = { to, type: 'text', text: { body: `to ${to} #${i}` } }
    let res = firstCloud ? undefined : await onPremApi('/v1/messages', body)
    if (res && res.status < 300) lastOnPrem = performance.now()
    else {
      if (res) expect(res.status).toBe(403)
      res = await cloudApi(`/${onPrem.phone_number_id}/messages`, { messaging_product: 'whatsapp', ...body })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      firstCloud ||= performance.now()
    }
    fromBusiness.push({ id: (res.body.messages as { id: string }[])[0]!.id, to })
  }
  let moved = false
  // phones and business write all along, before, during and after the move, at a pace under the pair rate limit
  const writing = (async () => {
    for (let i = 0; i < 12 || !moved || !firstCloud; i++) {
      await Promise.all([
        ...phones.map(async (phone) => {
          const sent = await wabox.control('POST', `/control/phones/${phone}/send`, { to: onPrem.wa_id, type: 'text', text: `from ${phone} #${i}` })
          fromPhones.push((sent.message as { id: string }).id)
        }),
        businessSends(phones[i % phones.length]!, i),
      ])
    }
  })()

  await eventually(async () => (fromPhones.length >= 6 && fromBusiness.length >= 3 ? true : undefined))
  const backup = await call('/v1/settings/backup', 'POST', { password: 'b4ckup!' }, { authorization: `Bearer ${admin}` })
  expect(backup.status, JSON.stringify(backup.body)).toBe(200)
  const data = (backup.body.settings as { data: string }).data
  const registered = await cloudApi(`/${onPrem.phone_number_id}/register`, { messaging_product: 'whatsapp', pin: '246802', backup: { data, password: 'b4ckup!' } })
  expect(registered, JSON.stringify(registered.body)).toMatchObject({ status: 200, body: { success: true } })
  moved = true
  await writing

  // every phone message reached the business's webhooks once, in one shape or the other
  const seen = () => counts(world.receiver.posts.flatMap((p) => inboundIds(p.body)))
  await eventually(async () => (fromPhones.every((id) => seen().has(id)) ? true : undefined), 30_000)
  expect(fromPhones.filter((id) => seen().get(id) !== 1)).toEqual([])
  const paths = (id: string) => world.receiver.posts.filter((p) => inboundIds(p.body).includes(id)).map((p) => p.path)
  expect(paths(fromPhones[0]!)).toEqual(['/onprem'])
  expect(paths(fromPhones.at(-1)!)).toEqual(['/app'])

  // every business message reached its phone once, and no phone saw an identity change
  const inbox = async (phone: string) => ((await wabox.control('GET', `/control/phones/${phone}/inbox`)).messages as (PhoneMessage & { identityChanged?: unknown })[])
    .filter((m) => m.from === onPrem.wa_id)
  for (const phone of phones) {
    const sent = fromBusiness.filter((m) => m.to === phone).map((m) => m.id)
    await eventually(async () => {
      const ids = new Set((await inbox(phone)).map((m) => m.id))
      return sent.every((id) => ids.has(id)) ? true : undefined
    }, 30_000)
    const received = await inbox(phone)
    expect([...counts(received.map((m) => m.id)).values()].every((n) => n === 1)).toBe(true)
    expect(received.filter((m) => m.identityChanged !== undefined)).toEqual([])
  }

  // downtime: as the server measured the switch, and as a client sending all along saw it
  const line = wabox.stdout().split('\n').find((l) => l.includes('number moved from On-Premises to Cloud'))
  const serverDowntimeMs = (JSON.parse(line!) as { downtimeMs: number }).downtimeMs
  const clientDowntimeMs = firstCloud - lastOnPrem
  expect(serverDowntimeMs).toBeLessThan(1000)
  expect(clientDowntimeMs).toBeGreaterThan(0)
  console.log(`migration downtime: server ${serverDowntimeMs} ms, client-observed ${clientDowntimeMs.toFixed(0)} ms; ` +
    `${fromPhones.length} phone messages and ${fromBusiness.length} business messages, each delivered once`)
}, 120_000)
