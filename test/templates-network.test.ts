import { afterEach, describe, expect, it, vi } from 'vitest'
import { templatesCommand } from '../src/cli/commands/templates-command.js'
import type { NetworkClient } from '../src/wire/client.js'
import type { AccountUpdatePush, TemplateWire } from '../src/wire/frames.js'
import { eventually } from './helpers/wabox-process.js'
import { bytes, Harness, type Credentials } from './network-harness.js'

let h: Harness
afterEach(async () => h?.close())

const HOUR = 60 * 60 * 1000

const shipped = {
  name: 'order_shipped',
  language: 'en_US',
  category: 'UTILITY',
  components: [{ type: 'BODY', text: 'Hi {{1}}, your order shipped.', example: { body_text: [['Ann']] } }],
}

/** Every account.update the client receives, acked as the CoreApp does. */
function updatesOf(client: NetworkClient, ack = true): AccountUpdatePush[] {
  const seen: AccountUpdatePush[] = []
  client.on('account.update', (u) => {
    seen.push(u)
    if (ack) client.request({ t: 'account.update.ack', updateIds: [u.updateId] }).catch(() => undefined)
  })
  return seen
}

/** Until the updates pushed so far satisfy `check` (the one shared waiter). */
async function until(check: () => boolean): Promise<void> {
  await eventually(async () => check() || undefined)
}

const summary = (u: AccountUpdatePush) => `${u.field}:${String(u.value.event ?? `${String(u.value.previous_quality_score)}>${String(u.value.new_quality_score)}`)}`

describe('templates on the network', () => {
  it('reviews a submitted template after the delay, rates it from blocks and reports, pauses it 3 h, then 6 h, then disables it', async () => {
    h = await Harness.start({ profile: 'strict', templateReviewDelayMs: 60_000, templateQuality: { minSends: 2, yellowAt: 1, redAt: 2 } })
    const business = await h.register('1', '5550500', 'Quality Co')
    const phones: Credentials[] = [await h.register('1', '5550501'), await h.register('1', '5550502')]
    const biz = await h.connect(business)
    const updates = updatesOf(biz)
    const phoneClients = await Promise.all(phones.map((p) => h.connect(p)))

    const created = await biz.request<TemplateWire>({ t: 'templates.create', template: shipped })
    expect(created).toMatchObject({ name: 'order_shipped', status: 'PENDING', quality: 'UNKNOWN' })
    expect(created.id).toMatch(/^\d{15}$/)
    h.clock.tick(60_000)
    await h.server.sweep()
    await until(() => updates.length === 1)
    expect(updates[0]!.value).toMatchObject({ event: 'APPROVED', message_template_id: Number(created.id), message_template_name: 'order_shipped', message_template_language: 'en_US', reason: 'NONE' })

    let n = 0
    const round = async () => {
      for (const p of phones) {
        await biz.request({ t: 'envelope.send', envelopeId: `e${n++}`, to: p.waId, kind: 'message', body: bytes('x'), category: 'utility', businessInitiated: true, templateId: created.id })
      }
      for (const c of phoneClients) await c.request({ t: 'feedback', waId: business.waId, kind: 'report' })
    }
    await round()
    await until(() => updates.some((u) => u.value.event === 'PAUSED'))
    const firstPause = updates.find((u) => u.value.event === 'PAUSED')!
    expect(firstPause.value.other_info).toMatchObject({ title: 'FIRST_PAUSE' })
    expect((await h.control('GET', `/control/templates/${created.id}`)).body).toMatchObject({ status: 'PAUSED', quality: 'RED' })

    h.clock.tick(3 * HOUR - 1)
    await h.server.sweep()
    expect((await h.control('GET', `/control/templates/${created.id}`)).body).toMatchObject({ status: 'PAUSED' })
    h.clock.tick(1)
    await h.server.sweep()
    await until(() => updates.at(-1)?.value.event === 'APPROVED')
    expect(updates.at(-1)!.value.other_info).toMatchObject({ title: 'UNPAUSE' })

    await round()
    await until(() => updates.filter((u) => u.value.event === 'PAUSED').length === 2)
    expect(updates.at(-1)!.value.other_info).toMatchObject({ title: 'SECOND_PAUSE' })
    h.clock.tick(6 * HOUR)
    await h.server.sweep()
    await until(() => updates.at(-1)?.value.event === 'APPROVED')

    await round()
    await until(() => updates.at(-1)?.value.event === 'DISABLED')
    expect(updates.map(summary)).toEqual([
      'message_template_status_update:APPROVED',
      // two sends give it a score; each report moves it one step
      'message_template_quality_update:UNKNOWN>GREEN',
      'message_template_quality_update:GREEN>YELLOW',
      'message_template_quality_update:YELLOW>RED',
      'message_template_status_update:PAUSED',
      'message_template_status_update:APPROVED',
      // after a pause its feedback starts afresh
      'message_template_quality_update:RED>GREEN',
      'message_template_quality_update:GREEN>YELLOW',
      'message_template_quality_update:YELLOW>RED',
      'message_template_status_update:PAUSED',
      'message_template_status_update:APPROVED',
      'message_template_quality_update:RED>GREEN',
      'message_template_quality_update:GREEN>YELLOW',
      'message_template_quality_update:YELLOW>RED',
      'message_template_status_update:DISABLED',
    ])
  })

  it('keeps an account update until the business acks it, and sends it again after a new login', async () => {
    h = await Harness.start({ profile: 'strict' })
    const business = await h.register('1', '5550510', 'Durable Co')
    const first = await h.connect(business)
    const unacked = updatesOf(first, false)
    const created = await first.request<TemplateWire>({ t: 'templates.create', template: { ...shipped, name: 'durable' } })
    expect((await h.control('POST', `/control/templates/${created.id}/reject`, { reason: 'INCORRECT_CATEGORY' })).status).toBe(200)
    await until(() => unacked.length === 1)
    expect(unacked[0]!.value).toMatchObject({ event: 'REJECTED', reason: 'INCORRECT_CATEGORY' })
    await first.close()

    // pushes may share the login ack's read: listen before logging in
    const { client: second, events } = await h.connectExpecting<AccountUpdatePush>(business, 'account.update', 1)
    const [again] = await events
    expect(again!.updateId).toBe(unacked[0]!.updateId)
    await second.request({ t: 'account.update.ack', updateIds: [again!.updateId] })
    await second.close()

    const third = await h.connect(business)
    const none = updatesOf(third)
    // a request answered after login proves the backlog was sent before it
    await third.request({ t: 'templates.get' })
    expect(none).toEqual([])
  })

  it('applies Meta rules to a business submission and answers a duplicate with already_exists', async () => {
    h = await Harness.start({ profile: 'dev' })
    const business = await h.register('1', '5550520', 'Rules Co')
    const biz = await h.connect(business)
    const updates = updatesOf(biz)
    expect(await biz.request<TemplateWire>({ t: 'templates.create', template: shipped })).toMatchObject({ status: 'APPROVED' })
    await expect(biz.request({ t: 'templates.create', template: shipped })).rejects.toMatchObject({ code: 'already_exists' })
    await expect(biz.request({ t: 'templates.create', template: { ...shipped, name: 'no_example', components: [{ type: 'BODY', text: 'Hi {{1}}!' }] } }))
      .rejects.toMatchObject({ code: 'bad_request' })
    expect(await biz.request<TemplateWire>({ t: 'templates.create', template: { ...shipped, name: 'promo_reject' } })).toMatchObject({ status: 'REJECTED', reason: 'INVALID_FORMAT' })
    expect(await biz.request<TemplateWire>({ t: 'templates.create', template: { ...shipped, name: 'later_pending' } })).toMatchObject({ status: 'PENDING' })
    await until(() => updates.length === 2)
    expect(updates.map((u) => u.value.event)).toEqual(['APPROVED', 'REJECTED'])
    expect(await biz.request({ t: 'templates.delete', name: 'order_shipped' })).toMatchObject({ deleted: [expect.any(String)] })
    await expect(biz.request({ t: 'templates.delete', name: 'order_shipped' })).rejects.toMatchObject({ code: 'not_found' })
  })

  it('lets an operator decide a PENDING template with `wabox templates review`', async () => {
    h = await Harness.start({ profile: 'strict' })
    const business = await h.register('1', '5550530', 'Operator Co')
    const biz = await h.connect(business)
    const updates = updatesOf(biz)
    const created = await biz.request<TemplateWire>({ t: 'templates.create', template: shipped })
    const printed: string[] = []
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line))
    const run = (...args: string[]) => templatesCommand().exitOverride().parseAsync(['--control', h.server.url, ...args], { from: 'user' })
    try {
      await expect(run('review', '--id', created.id, '--approve', '--reject')).rejects.toThrow(/exactly one of/)
      await run('review', '--id', created.id, '--reject', '--reason', 'INCORRECT_CATEGORY')
      await run('review', '--id', created.id, '--approve')
      await run('list', '--wa-id', business.waId)
    } finally {
      log.mockRestore()
    }
    expect(JSON.parse(printed[0]!)).toMatchObject({ status: 'REJECTED', reason: 'INCORRECT_CATEGORY' })
    expect(JSON.parse(printed[1]!)).toMatchObject({ status: 'APPROVED' })
    expect(JSON.parse(printed[2]!)).toMatchObject({ templates: [{ id: created.id, status: 'APPROVED' }] })
    await until(() => updates.length === 2)
    expect(updates.map((u) => [u.value.event, u.value.reason])).toEqual([['REJECTED', 'INCORRECT_CATEGORY'], ['APPROVED', 'NONE']])
  })

  it("applies Meta's edit rules: an approved template keeps its category and is edited once a day; a disabled one not at all", async () => {
    h = await Harness.start({ profile: 'dev' })
    const business = await h.register('1', '5550540', 'Edit Co')
    const biz = await h.connect(business)
    const created = await biz.request<TemplateWire>({ t: 'templates.create', template: shipped })
    const components = [{ type: 'BODY', text: 'Hello {{1}}, it shipped.', example: { body_text: [['Ann']] } }]
    await expect(biz.request({ t: 'templates.update', templateId: created.id, changes: { category: 'MARKETING' } })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('category') })
    expect(await biz.request<TemplateWire>({ t: 'templates.update', templateId: created.id, changes: { components } })).toMatchObject({ status: 'APPROVED', components: [{ text: 'Hello {{1}}, it shipped.' }] })
    await expect(biz.request({ t: 'templates.update', templateId: created.id, changes: { components } })).rejects.toMatchObject({ message: expect.stringContaining('once in 24 hours') })
    h.clock.tick(24 * HOUR)
    expect(await biz.request<TemplateWire>({ t: 'templates.update', templateId: created.id, changes: { components } })).toMatchObject({ status: 'APPROVED' })
    expect((await h.control('POST', `/control/templates/${created.id}/disable`, {})).status).toBe(200)
    await expect(biz.request({ t: 'templates.update', templateId: created.id, changes: { components } })).rejects.toMatchObject({ message: expect.stringContaining('DISABLED') })
    const other = await h.register('1', '5550541', 'Other Co')
    await expect((await h.connect(other)).request({ t: 'templates.update', templateId: created.id, changes: { components } })).rejects.toMatchObject({ code: 'not_found' })
  })
})
