import { afterAll, beforeAll, expect, it } from 'vitest'
import { GraphSubcode } from '../src/errors/index.js'
import { createCloudTest, graphError, type CloudTest } from './helpers/cloud.js'
import { describeEachDatabase } from './helpers/databases.js'

const shipped = {
  name: 'order_shipped',
  language: 'en_US',
  category: 'UTILITY',
  components: [
    { type: 'HEADER', format: 'TEXT', text: 'Order {{1}}', example: { header_text: ['A-17'] } },
    { type: 'BODY', text: 'Hi {{1}}, order {{2}} ships today.', example: { body_text: [['Ann', 'A-17']] } },
    { type: 'FOOTER', text: 'Acme' },
    { type: 'BUTTONS', buttons: [{ type: 'URL', text: 'Track', url: 'https://acme.test/t/{{1}}', example: ['https://acme.test/t/A-17'] }, { type: 'QUICK_REPLY', text: 'Thanks' }] },
  ],
}
const body = (text: string, example?: unknown) => ({ type: 'BODY', text, ...(example ? { example } : {}) })

describeEachDatabase('Graph template management', (ctx) => {
  let t: CloudTest
  beforeAll(async () => {
    t = await createCloudTest(ctx())
  })
  afterAll(async () => t.close())

  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, token: string = t.token) =>
    t.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as object }) })
  const create = (template: unknown, token?: string) => call('POST', `/v23.0/${t.wabaId}/message_templates`, template, token)

  it('creates a template and answers {id, status, category}; the same name and language again is 100 / 2388024', async () => {
    const res = await create(shipped)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ id: expect.stringMatching(/^\d+$/), status: 'PENDING', category: 'UTILITY' })
    const again = await create(shipped)
    expect(again.statusCode).toBe(400)
    expect(graphError(again)).toMatchObject({ code: 100, error_subcode: GraphSubcode.TEMPLATE_LANGUAGE_EXISTS, error_data: { details: expect.stringContaining('Content in this language already exists') } })
    expect((await create({ ...shipped, language: 'pt_BR' })).statusCode).toBe(200)
  })

  it.each([
    ['a name with capitals', { ...shipped, name: 'Order Shipped' }, 'name', undefined],
    ['an unknown language', { ...shipped, language: 'xx_YY' }, 'language', undefined],
    ['an unknown category', { ...shipped, category: 'PROMO' }, 'category', undefined],
    ['no BODY', { ...shipped, components: [{ type: 'FOOTER', text: 'x' }] }, 'components', undefined],
    ['two BODY components', { ...shipped, components: [body('a'), body('b')] }, 'components[1].type', undefined],
    ['a body over 1024 characters', { ...shipped, components: [body('x'.repeat(1025))] }, 'components[0].text', undefined],
    ['a footer over 60 characters', { ...shipped, components: [body('Hi'), { type: 'FOOTER', text: 'f'.repeat(61) }] }, 'components[1].text', undefined],
    ['a variable without its example', { ...shipped, components: [body('Hi {{1}}, thanks.')] }, 'components[0].example.body_text', undefined],
    ['variables with a gap', { ...shipped, components: [body('Hi {{1}} and {{3}} ok', { body_text: [['a', 'b']] })] }, 'components[0].text', undefined],
    ['a body ending with a variable', { ...shipped, components: [body('Hi {{1}}', { body_text: [['a']] })] }, 'components[0].text', GraphSubcode.TEMPLATE_VARIABLE_AT_EDGE],
    ['a header with an emoji', { ...shipped, components: [{ type: 'HEADER', format: 'TEXT', text: 'Hi 🎉' }, body('Hi')] }, 'components[0].text', GraphSubcode.TEMPLATE_HEADER_FORMAT],
    ['named variables without named examples', { ...shipped, parameter_format: 'NAMED', components: [body('Hi {{first_name}}, ok', { body_text: [['a']] })] }, 'components[0].example.body_text_named_params', undefined],
    ['eleven buttons', { ...shipped, components: [body('Hi'), { type: 'BUTTONS', buttons: Array.from({ length: 11 }, (_, i) => ({ type: 'QUICK_REPLY', text: `b${i}` })) }] }, 'components[1].buttons', undefined],
    ['three URL buttons', { ...shipped, components: [body('Hi'), { type: 'BUTTONS', buttons: [1, 2, 3].map((i) => ({ type: 'URL', text: `u${i}`, url: 'https://a.test' })) }] }, 'components[1].buttons', undefined],
    ['two phone buttons', { ...shipped, components: [body('Hi'), { type: 'BUTTONS', buttons: [1, 2].map((i) => ({ type: 'PHONE_NUMBER', text: `p${i}`, phone_number: '+15550001234' })) }] }, 'components[1].buttons', undefined],
    ['a URL variable without an example', { ...shipped, components: [body('Hi'), { type: 'BUTTONS', buttons: [{ type: 'URL', text: 'Go', url: 'https://a.test/{{1}}' }] }] }, 'components[1].buttons[0].example', undefined],
    ['an OTP button in a MARKETING template', { ...shipped, category: 'MARKETING', components: [body('Hi'), { type: 'BUTTONS', buttons: [{ type: 'OTP', otp_type: 'COPY_CODE' }] }] }, 'components[1].buttons[0].type', undefined],
  ])('refuses %s with 100 naming the field', async (_what, template, field, subcode) => {
    const res = await create(template)
    expect(res.statusCode, res.body).toBe(400)
    const error = graphError(res)
    expect(error.code).toBe(100)
    expect(error.error_subcode).toBe(subcode)
    expect(error.error_data.details).toContain(field)
  })

  it('takes components as a JSON string, as form posts send them, and authentication templates with an OTP button', async () => {
    const res = await create({ ...shipped, name: 'as_form', components: JSON.stringify([body('Plain body')]) })
    expect(res.statusCode, res.body).toBe(200)
    const otp = await create({ name: 'login_code', language: 'en', category: 'AUTHENTICATION', components: [{ type: 'BODY' }, { type: 'BUTTONS', buttons: [{ type: 'OTP', otp_type: 'COPY_CODE' }] }] })
    expect(otp.json()).toMatchObject({ status: 'PENDING', category: 'AUTHENTICATION' })
  })

  it('lists templates with filters, fields and cursor paging', async () => {
    t.bridge.pack = { ...t.bridge.pack, templates: t.bridge.pack.templates.map((x) => (x.name === 'as_form' ? { ...x, status: 'APPROVED' } : x)) }
    const all = await call('GET', `/v23.0/${t.wabaId}/message_templates`)
    expect(all.statusCode, all.body).toBe(200)
    const listed = all.json() as { data: { name: string; language: string; status: string; parameter_format: string; id: string }[] }
    expect(listed.data.map((d) => `${d.name}/${d.language}`)).toEqual(['as_form/en_US', 'login_code/en', 'order_shipped/en_US', 'order_shipped/pt_BR'])
    expect(Object.keys(listed.data[0]!)).toEqual(['name', 'parameter_format', 'components', 'language', 'status', 'category', 'id'])

    const names = async (query: string) => ((await call('GET', `/${t.wabaId}/message_templates?${query}`)).json() as { data: { name: string }[] }).data.map((d) => d.name)
    expect(await names('status=APPROVED')).toEqual(['as_form'])
    expect(await names('category=authentication')).toEqual(['login_code'])
    expect(await names('language=pt_BR')).toEqual(['order_shipped'])
    expect(await names('name=shipped')).toEqual(['order_shipped', 'order_shipped'])
    expect(await names('name_or_content=plain')).toEqual(['as_form'])
    expect((await call('GET', `/${t.wabaId}/message_templates?fields=name,quality_score&limit=1`)).json()).toMatchObject({ data: [{ name: 'as_form', quality_score: { score: 'UNKNOWN' }, id: expect.any(String) }] })

    const first = (await call('GET', `/${t.wabaId}/message_templates?limit=3`)).json() as { data: { name: string }[]; paging: { cursors: { after: string }; next: string } }
    expect(first.data).toHaveLength(3)
    const next = new URL(first.paging.next)
    const second = (await call('GET', `${next.pathname}${next.search}`)).json() as { data: { language: string }[]; paging: { next?: string } }
    expect(second.data.map((d) => d.language)).toEqual(['pt_BR'])
    expect(second.paging.next).toBeUndefined()

    const bad = await call('GET', `/${t.wabaId}/message_templates?fields=colour`)
    expect(graphError(bad)).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('(colour)') } })
    expect(graphError(await call('GET', `/${t.wabaId}/message_templates?limit=0`)).code).toBe(100)
  })

  it('reads and edits a template by its id; an unknown id gets 100 / 33', async () => {
    const id = t.bridge.pack.templates.find((x) => x.name === 'order_shipped')!.id!
    expect((await call('GET', `/v23.0/${id}?fields=name,status`)).json()).toEqual({ name: 'order_shipped', status: 'PENDING', id })
    const edited = await call('POST', `/v23.0/${id}`, { components: [body('Hello {{1}}, it shipped.', { body_text: [['Ann']] })] })
    expect(edited.statusCode, edited.body).toBe(200)
    expect(edited.json()).toEqual({ success: true })
    expect((await call('GET', `/${id}`)).json()).toMatchObject({ components: [{ type: 'BODY', text: 'Hello {{1}}, it shipped.' }] })
    const badEdit = await call('POST', `/${id}`, { components: [body('Hello {{1}}, it shipped.')] })
    expect(graphError(badEdit)).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('example.body_text') } })
    expect(graphError(await call('POST', `/${id}`, {})).code).toBe(100)
    expect(graphError(await call('GET', '/999999999999999'))).toMatchObject({ code: 100, error_subcode: 33 })
  })

  it('deletes by name (every language) or by hsm_id; a name that is not there is 100; it needs the management permission', async () => {
    expect(graphError(await create({ ...shipped, name: 'x_y' }, t.messagingToken)).code).toBe(10)
    const ids = t.bridge.pack.templates.filter((x) => x.name === 'order_shipped').map((x) => x.id!)
    const one = await call('DELETE', `/v23.0/${t.wabaId}/message_templates?name=order_shipped&hsm_id=${ids[1]}`)
    expect(one.json()).toEqual({ success: true })
    expect(t.bridge.pack.templates.filter((x) => x.name === 'order_shipped').map((x) => x.id)).toEqual([ids[0]])
    expect((await call('DELETE', `/${t.wabaId}/message_templates?name=order_shipped`)).json()).toEqual({ success: true })
    expect(graphError(await call('DELETE', `/${t.wabaId}/message_templates?name=order_shipped`))).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('not found') } })
    expect(graphError(await call('DELETE', `/${t.wabaId}/message_templates`)).code).toBe(100)
    expect(graphError(await call('GET', `/${t.otherWabaId}/message_templates`))).toMatchObject({ code: 100, error_subcode: 33 })
  })

  it('creates and deletes templates over 360dialog\'s /v1/configs/templates with the same rules', async () => {
    const d360 = (method: 'POST' | 'DELETE', url: string, payload?: unknown) =>
      t.app.inject({ method, url, headers: { 'd360-api-key': t.keyA }, ...(payload === undefined ? {} : { payload: payload as object }) })
    const created = await d360('POST', '/v1/configs/templates', { ...shipped, name: 'via_d360' })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json()).toMatchObject({ name: 'via_d360', language: 'en_US', category: 'UTILITY', status: 'pending', rejected_reason: 'NONE', id: expect.any(String), namespace: expect.any(String) })
    const dup = await d360('POST', '/v1/configs/templates', { ...shipped, name: 'via_d360' })
    expect(graphError(dup)).toMatchObject({ code: 100, error_subcode: GraphSubcode.TEMPLATE_LANGUAGE_EXISTS })
    expect(graphError(await d360('POST', '/v1/configs/templates', { ...shipped, name: 'Bad' }))).toMatchObject({ code: 100, error_data: { details: expect.stringContaining('name') } })
    expect((await d360('DELETE', '/v1/configs/templates/via_d360')).json()).toEqual({ success: true })
    expect(graphError(await d360('DELETE', '/v1/configs/templates/via_d360')).code).toBe(100)
  })
})
