import { afterEach, describe, expect, it } from 'vitest'
import type { TemplatesGetResult, TemplateWire } from '../src/wire/frames.js'
import { Harness } from './network-harness.js'

let h: Harness
afterEach(async () => h?.close())

const orderShipped = {
  name: 'order_shipped',
  language: 'en_US',
  category: 'UTILITY',
  components: [
    { type: 'HEADER', format: 'TEXT', text: 'Order {{1}}' },
    { type: 'BODY', text: 'Hi {{1}}, order {{2}} ships {{3}}.' },
    { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Thanks' }] },
  ],
}

describe('network template registry', () => {
  it('walks templates through review states and serves the pack to the business', async () => {
    h = await Harness.start({ profile: 'strict' })
    const business = await h.register('1', '5550400', 'Tmpl Co')
    const created = await h.control('POST', `/control/accounts/${business.waId}/templates`, orderShipped)
    expect(created.status).toBe(201)
    const template = created.body as TemplateWire
    expect(template).toMatchObject({ name: 'order_shipped', language: 'en_US', status: 'PENDING' })

    const client = await h.connect(business)
    const pack = await client.request<TemplatesGetResult>({ t: 'templates.get' })
    expect(pack.namespace).toMatch(/^[0-9a-f_]{36}$/)
    expect(pack.templates).toEqual([template])

    const step = async (action: string, expected: number, status?: string) => {
      const res = await h.control('POST', `/control/templates/${template.id}/${action}`, {})
      expect(res.status).toBe(expected)
      if (status) expect((res.body as TemplateWire).status).toBe(status)
    }
    await step('pause', 409)
    await step('approve', 200, 'APPROVED')
    await step('reject', 409)
    await step('pause', 200, 'PAUSED')
    await step('unpause', 200, 'APPROVED')
    await step('disable', 200, 'DISABLED')
    await step('approve', 409)
    await step('explode', 404)
    expect((await client.request<TemplatesGetResult>({ t: 'templates.get' })).templates[0]!.status).toBe('DISABLED')

    // The namespace is stable across a re-registration of the number.
    const again = await h.register('1', '5550400', 'Tmpl Co')
    const relogged = await h.connect(again)
    expect((await relogged.request<TemplatesGetResult>({ t: 'templates.get' })).namespace).toBe(pack.namespace)
  })

  it('rejects a template with a rejection reason, edits send it back to review, and delete removes it', async () => {
    h = await Harness.start({ profile: 'strict' })
    const business = await h.register('1', '5550410', 'Tmpl Co')
    const { body } = await h.control('POST', `/control/accounts/${business.waId}/templates`, orderShipped)
    const id = (body as TemplateWire).id
    expect((await h.control('POST', `/control/templates/${id}/reject`, { reason: 'INVALID_FORMAT' })).body).toMatchObject({ status: 'REJECTED' })
    const edited = await h.control('PATCH', `/control/templates/${id}`, { components: [{ type: 'BODY', text: 'Order {{1}} shipped' }] })
    expect(edited.body).toMatchObject({ status: 'PENDING', components: [{ type: 'BODY', text: 'Order {{1}} shipped' }] })
    expect((await h.control('GET', `/control/templates/${id}`)).body).toMatchObject({ status: 'PENDING' })
    expect((await h.control('DELETE', `/control/templates/${id}`)).status).toBe(204)
    expect((await h.control('GET', `/control/templates/${id}`)).status).toBe(404)
  })

  it('auto-approves in the dev profile and validates templates', async () => {
    h = await Harness.start({ profile: 'dev' })
    const business = await h.register('1', '5550420', 'Tmpl Co')
    const phone = await h.register('1', '5550421')
    const url = `/control/accounts/${business.waId}/templates`
    expect((await h.control('POST', url, orderShipped)).body).toMatchObject({ status: 'APPROVED' })
    expect((await h.control('POST', url, orderShipped)).status).toBe(409)
    const gap = { ...orderShipped, name: 'gap', components: [{ type: 'BODY', text: 'Hi {{1}} and {{3}}' }] }
    expect((await h.control('POST', url, gap)).body).toMatchObject({ error: { code: 'bad_request' } })
    expect((await h.control('POST', url, { ...orderShipped, name: 'Bad Name' })).status).toBe(400)
    expect((await h.control('POST', url, { ...orderShipped, name: 'x', category: 'PROMO' })).status).toBe(400)
    expect((await h.control('POST', url, { ...orderShipped, name: 'x', components: [] })).status).toBe(400)
    expect((await h.control('POST', `/control/accounts/${phone.waId}/templates`, orderShipped)).status).toBe(400)
    expect((await h.control('GET', url)).body).toMatchObject({ templates: [{ name: 'order_shipped' }] })
  })
  it("serves a WABA's templates to every number that names the WABA, one added later too; a number moved away leaves them", async () => {
    h = await Harness.start({ profile: 'dev' })
    const [a, b, c] = await Promise.all(['5550430', '5550431', '5550432'].map((n) => h.register('1', n, 'Waba Co')))
    const [ca, cb, cc] = await Promise.all([a, b, c].map((n) => h.connect(n!)))
    const names = async (client: typeof ca, waba?: string) =>
      (await client!.request<TemplatesGetResult>({ t: 'templates.get', ...(waba ? { waba } : {}) })).templates.map((t) => `${t.name}:${t.status}`)
    const notice = { name: 'notice', language: 'en_US', category: 'UTILITY', components: [{ type: 'BODY', text: 'Your table is ready.' }] }

    // made through a before it named a WABA: a's own, until a names W1
    await ca!.request({ t: 'templates.create', template: { ...notice, name: 'early' } })
    expect(await names(cb, 'W1')).toEqual([])
    const made = await ca!.request<TemplateWire>({ t: 'templates.create', template: notice, waba: 'W1' })
    expect(await names(cb, 'W1')).toEqual(['early:APPROVED', 'notice:APPROVED'])
    expect(await names(cc, 'W2')).toEqual([])
    expect(await names(cb)).toEqual([])

    // one WABA, one template per name and language; a status change is every number's
    expect(await ca!.request({ t: 'templates.create', template: notice, waba: 'W1' }).then(() => 'created', (e: { code: string }) => e.code)).toBe('already_exists')
    await h.control('POST', `/control/templates/${made.id}/pause`, {})
    expect(await names(cc, 'W1')).toEqual(['early:APPROVED', 'notice:PAUSED'])

    // a moves to W2: the templates stay with W1 (those made before WABAs were kept go with a)
    expect(await names(ca, 'W2')).toEqual(['early:APPROVED'])
    expect(await names(cb, 'W1')).toEqual(['notice:PAUSED'])
    expect((await cb!.request<{ deleted: string[] }>({ t: 'templates.delete', name: 'notice', waba: 'W1' })).deleted).toEqual([made.id])
    expect(await names(cc, 'W1')).toEqual([])
  })
})
