import { Client } from '@great-detail/whatsapp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CloudWorld } from './helpers/cloud-world.js'

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
