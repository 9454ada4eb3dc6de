import { Client } from '@great-detail/whatsapp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CloudWorld, type PhoneMessage } from './helpers/cloud-world.js'
import { eventually } from './helpers/wabox-process.js'

const world = new CloudWorld()
beforeAll(() => world.start(), 60_000)
afterAll(() => world.close())

interface TemplateChange {
  field: string
  value: { event?: string; message_template_name?: string; message_template_id?: number }
}

/** The changes of every webhook POST so far. */
const changes = (): TemplateChange[] =>
  world.receiver.posts.flatMap((p) => ((p.body as { entry?: { changes?: TemplateChange[] }[] }).entry ?? []).flatMap((e) => e.changes ?? []))

describe('@great-detail/whatsapp manages templates against wabox start', () => {
  it('creates a template (approved at once on the dev network), lists and reads it, sends it, edits and deletes it', async () => {
    const { cloud } = world
    const sdk = new Client({ prefixUrl: cloud.base_url, graphVersion: cloud.api_version, request: { headers: { authorization: `Bearer ${cloud.access_token}` } } })
    const created = await sdk.template.create(cloud.waba_id, {
      name: 'sdk_welcome', language: 'en_US', category: 'UTILITY',
      components: [{ type: 'BODY', text: 'Hi {{1}}, thanks for your order.', example: { body_text: [['Ann']] } }],
    } as never).json<{ id: string; status: string; category: string }>()
    expect(created).toEqual({ id: expect.stringMatching(/^\d+$/), status: 'APPROVED', category: 'UTILITY' })

    const listed = await sdk.template.list(cloud.waba_id, { status: ['APPROVED'], category: ['UTILITY', 'MARKETING'], limit: 100 } as never).json<{ data: { id: string; name: string }[] }>()
    expect(listed.data).toContainEqual(expect.objectContaining({ id: created.id, name: 'sdk_welcome' }))
    expect(await sdk.template.get(created.id, { fields: ['name', 'status'] } as never).json()).toEqual({ name: 'sdk_welcome', status: 'APPROVED', id: created.id })

    // the approval reaches the business as a Cloud notification of its own field
    await world.receiver.waitFor(() => changes().find((c) => c.field === 'message_template_status_update' && c.value.message_template_name === 'sdk_welcome'))
    const approval = changes().find((c) => c.value.message_template_name === 'sdk_welcome')!
    expect(approval.value).toMatchObject({ event: 'APPROVED', message_template_id: Number(created.id) })

    const phone = world.phones[0]!
    const sent = await sdk.message.createMessage({
      phoneNumberID: cloud.phone_number_id, to: phone, type: 'template',
      template: { name: 'sdk_welcome', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ann' }] }] },
    } as never).json<{ messages: { id: string }[] }>()
    expect((await world.received(phone, sent.messages[0]!.id)).content.template).toMatchObject({ name: 'sdk_welcome', body: 'Hi Ann, thanks for your order.' })

    const updated = await sdk.template.update(created.id, {
      components: [{ type: 'BODY', text: 'Hello {{1}}, thanks for your order.', example: { body_text: [['Ann']] } }],
    } as never).json()
    expect(updated).toEqual({ success: true })
    expect(await sdk.template.delete(cloud.waba_id, { name: 'sdk_welcome' }).json()).toEqual({ success: true })
    const after = await sdk.template.list(cloud.waba_id, {} as never).json<{ data: { name: string }[] }>()
    expect(after.data.map((t) => t.name)).not.toContain('sdk_welcome')
  }, 60_000)
})

describe('a WABA template is every number of the WABA', () => {
  it('sends templates made with the Graph API and on the Hub from the Cloud and the On-Prem number; a pause and a delete reach both', async () => {
    const { cloud, wabox } = world
    const phone = world.phones[1]!
    const onPrem = wabox.creds.numbers.find((n) => n.platform_type === 'ON_PREMISE')!
    const graph = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${cloud.base_url}/${cloud.api_version}/${url}`, {
        method, headers: { authorization: `Bearer ${cloud.access_token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }
    const hub = async (url: string, body: unknown, cookie = '') => {
      const { api_url: base } = wabox.creds
      return fetch(`${base}${url}`, { method: 'POST', headers: { origin: base, cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    }
    const template = (name: string) => ({ name, language: 'en_US', category: 'UTILITY', components: [{ type: 'BODY', text: 'Hi {{1}}, your table is ready.', example: { body_text: [['Ann']] } }] })

    const created = await graph('POST', `${cloud.waba_id}/message_templates`, template('graph_notice'))
    expect(created).toMatchObject({ status: 200, body: { status: 'APPROVED' } })
    // the Templates page of the On-Prem number
    const { username, password } = wabox.creds.admin
    const session = await hub('/hub/api/session', { username, password, newPassword: 'Hub-password-1' })
    expect(session.status, await session.clone().text()).toBe(200)
    const cookie = session.headers.get('set-cookie')!.split(';')[0]!
    const onHub = await hub(`/hub/api/numbers/${onPrem.phone_number_id}/templates`, template('hub_notice'), cookie)
    expect(onHub.status, await onHub.clone().text()).toBe(201)
    expect(await onHub.json()).toMatchObject({ status: 'APPROVED' })

    // the On-Prem number's pack on the network (the operator's view) has the namespace its sends name
    const onPremPack = async () => (await wabox.control('GET', `/control/accounts/${onPrem.wa_id}/templates`)) as { namespace: string; templates: { name: string; status: string }[] }
    const { namespace } = await onPremPack()
    const parameters = [{ type: 'text', text: 'Ann' }]
    for (const name of ['graph_notice', 'hub_notice']) {
      const fromCloud = await graph('POST', `${cloud.phone_number_id}/messages`, {
        messaging_product: 'whatsapp', to: phone, type: 'template', template: { name, language: { code: 'en_US' }, components: [{ type: 'body', parameters }] },
      })
      expect(fromCloud.status, JSON.stringify(fromCloud.body)).toBe(200)
      expect((await world.received(phone, (fromCloud.body.messages as { id: string }[])[0]!.id)).content.template).toMatchObject({ name, body: 'Hi Ann, your table is ready.' })

      const fromOnPrem = await wabox.api('POST', '/v1/messages', {
        to: phone, type: 'template', template: { namespace, name, language: { policy: 'deterministic', code: 'en_US' }, components: [{ type: 'body', parameters }] },
      })
      expect(fromOnPrem.status, JSON.stringify(fromOnPrem.body)).toBe(201)
      const id = (fromOnPrem.body.messages as { id: string }[])[0]!.id
      const delivered = await eventually(async () => {
        const inbox = (await wabox.control('GET', `/control/phones/${phone}/inbox`)).messages as PhoneMessage[]
        return inbox.find((m) => m.id === id && m.from === onPrem.wa_id)
      })
      expect(delivered.content.template).toMatchObject({ name, body: 'Hi Ann, your table is ready.' })
    }

    // Meta's side pauses one: the On-Prem number's pack says so too; a delete through Graph removes it there
    expect((await onPremPack()).templates).toContainEqual(expect.objectContaining({ name: 'graph_notice', status: 'APPROVED' }))
    await wabox.control('POST', `/control/templates/${created.body.id as string}/pause`, {})
    expect((await onPremPack()).templates).toContainEqual(expect.objectContaining({ name: 'graph_notice', status: 'PAUSED' }))
    expect((await graph('DELETE', `${cloud.waba_id}/message_templates?name=graph_notice`)).body).toEqual({ success: true })
    expect((await onPremPack()).templates.map((t) => t.name)).not.toContain('graph_notice')
  }, 60_000)
})
