import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { MAX_CONTENT_BYTES, MAX_NESTING_DEPTH } from '../src/domain/message/limits.js'
import { WaboxError } from '../src/errors/index.js'
import { encryptBackup } from '../src/webapp/backup-crypto.js'
import { validateOutbound } from '../src/domain/message/validation.js'
import { describeEachDatabase } from './helpers/databases.js'
import { contactsOfSize, deepCard, deepContactsJson, nested, TO } from './helpers/message-bodies.js'
import { call, createWebTest, firstError, type WebTest } from './helpers/webapp.js'

const opts = { requireNamespace: true }
const HUGE = 'x'.repeat(100_000)

// Segmenting a long string costs the square of its length; a guard stops a regression at once
// instead of letting it block the test process for minutes.
const segmented: number[] = []
const segment = Intl.Segmenter.prototype.segment
beforeAll(() => {
  vi.spyOn(Intl.Segmenter.prototype, 'segment').mockImplementation(function (this: Intl.Segmenter, input: string) {
    segmented.push(input.length)
    if (input.length > 64) throw new Error(`the grapheme segmenter was given ${input.length} characters`)
    return segment.call(this, input)
  })
})
afterAll(() => vi.restoreAllMocks())

function refusal(body: unknown): WaboxError {
  try {
    validateOutbound(body, opts)
  } catch (err) {
    if (err instanceof WaboxError) return err
    throw err
  }
  throw new Error('the body was accepted')
}

describe('validateOutbound: huge strings are measured before any pattern or segmenter work', () => {
  it('refuses a 70,000-character reaction emoji by its length (1009)', () => {
    const err = refusal({ to: TO, type: 'reaction', reaction: { message_id: 'wamid.1', emoji: '👍'.repeat(35_000) } })
    expect(err.code).toBe(1009)
    expect(err.details).toContain('reaction.emoji')
    expect(err.details).toContain('at most 32')
    expect(Math.max(0, ...segmented)).toBeLessThanOrEqual(32)
  })

  it('still takes one emoji of many code points, and refuses two', () => {
    const kiss = '👩🏻‍❤️‍💋‍👨🏼'
    expect(validateOutbound({ to: TO, type: 'reaction', reaction: { message_id: 'wamid.1', emoji: kiss } }, opts).content)
      .toMatchObject({ reaction: { emoji: kiss } })
    expect(refusal({ to: TO, type: 'reaction', reaction: { message_id: 'wamid.1', emoji: '👍🏽👍🏽' } }).code).toBe(1009)
  })

  it('answers every patterned field with its length limit', () => {
    const tpl = (template: object) => ({ to: TO, type: 'template', template: { namespace: 'ns', name: 'n', language: { code: 'en' }, ...template } })
    const hsm = (o: object) => ({ to: TO, type: 'hsm', hsm: { namespace: 'ns', element_name: 'n', language: { code: 'en' }, ...o } })
    const param = (p: object) => tpl({ components: [{ type: 'body', parameters: [p] }] })
    const cases: [object, string, string][] = [
      [{ to: TO, type: 'contacts', contacts: [{ name: { formatted_name: 'A' }, birthday: HUGE }] }, 'contacts[0].birthday', 'at most 10 characters'],
      [tpl({ language: { code: HUGE } }), 'template.language.code', 'at most 16 characters'],
      [tpl({ namespace: HUGE }), 'template.namespace', 'at most 256 characters'],
      [hsm({ namespace: HUGE }), 'hsm.namespace', 'at most 256 characters'],
      [param({ type: 'currency', currency: { fallback_value: '$1', code: HUGE, amount_1000: 1 } }), 'currency.code', 'at most 3 characters'],
      [tpl({ components: [{ type: 'button', sub_type: 'url', index: '1'.repeat(100_000) }] }), 'template.components[0].index', '0 to 9'],
    ]
    for (const [body, field, rule] of cases) {
      const err = refusal(body)
      expect(err.code, field).toBe(1009)
      expect(err.details, field).toContain(field)
      expect(err.details, field).toContain(rule)
    }
  })
})

describe('validateOutbound: nesting is bounded for every free-form object', () => {
  it(`takes objects ${MAX_NESTING_DEPTH} levels deep and refuses one more, naming the path and the limit (1009)`, () => {
    // body, contacts, card and org are 4 levels
    expect(() => validateOutbound({ to: TO, type: 'contacts', contacts: [deepCard(MAX_NESTING_DEPTH - 3)] }, opts)).not.toThrow()
    const err = refusal({ to: TO, type: 'contacts', contacts: [deepCard(MAX_NESTING_DEPTH - 2)] })
    expect(err.code).toBe(1009)
    expect(err.details).toContain(`'contacts[0].org${'.x'.repeat(MAX_NESTING_DEPTH - 3)}'`)
    expect(err.details).toContain(`${MAX_NESTING_DEPTH} levels`)
  })

  it('refuses cards nested 150 and 5,000 levels', () => {
    for (const levels of [150, 5000]) {
      const err = refusal({ to: TO, type: 'contacts', contacts: [deepCard(levels)] })
      expect(err.code).toBe(1009)
      expect(err.details).toContain('contacts[0].org.x')
    }
  })

  it('covers interactive, template and hsm objects and unknown fields', () => {
    const deep = nested(5000)
    const flow = {
      to: TO, type: 'interactive',
      interactive: {
        type: 'flow', body: { text: 'go' },
        action: { name: 'flow', parameters: { flow_message_version: '3', flow_cta: 'Book', flow_id: '1', flow_action_payload: { screen: 'A', data: deep } } },
      },
    }
    const catalog = { to: TO, type: 'interactive', interactive: { type: 'catalog_message', body: { text: 'b' }, action: { name: 'catalog_message', parameters: deep } } }
    const template = {
      to: TO, type: 'template',
      template: { namespace: 'ns', name: 'n', language: { code: 'en' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'a', extra: deep }] }] },
    }
    const hsm = { to: TO, type: 'hsm', hsm: { namespace: 'ns', element_name: 'n', language: { code: 'en' }, localizable_params: [{ default: 'a', currency: deep }] } }
    const cases: [object, string][] = [
      [flow, 'interactive.action.parameters.flow_action_payload.data.x'],
      [catalog, 'interactive.action.parameters.x'],
      [template, 'template.components[0].parameters[0].extra.x'],
      [hsm, 'hsm.localizable_params[0].currency.x'],
      [{ to: TO, text: { body: 'hi' }, unknown: deep }, 'unknown.x'],
    ]
    for (const [body, path] of cases) {
      const err = refusal(body)
      expect(err.code, path).toBe(1009)
      expect(err.details, path).toContain(path)
    }
  })

  it('keeps the details short when the keys on the path are huge', () => {
    let value: Record<string, unknown> = {}
    for (let i = 0; i < 20; i++) value = { [HUGE]: value }
    const err = refusal({ to: TO, type: 'contacts', contacts: [{ name: { formatted_name: 'A' }, org: value }] })
    expect(err.code).toBe(1009)
    expect(err.details.length).toBeLessThan(2000)
  })
})

describeEachDatabase('webapp refuses hostile message bodies', (ctx) => {
  let t: WebTest
  beforeAll(async () => {
    t = await createWebTest(ctx())
  })
  afterAll(async () => t.close())

  const send = (payload: object | string) =>
    call(t.app, { d360: t.keyA }, { method: 'POST', url: '/v1/messages', headers: { 'content-type': 'application/json' }, payload })

  it('answers a 70,000-character emoji with 400 / 1009 and stays healthy', async () => {
    const res = await send({ to: TO, type: 'reaction', reaction: { message_id: 'wamid.1', emoji: 'a'.repeat(70_000) } })
    expect(res.statusCode).toBe(400)
    expect(firstError(res)).toMatchObject({ code: 1009 })
    expect((await send({ to: TO, type: 'reaction', reaction: { message_id: 'wamid.1', emoji: '👍' } })).statusCode).toBe(201)
  })

  it('refuses content that cannot fit in one network envelope (1001, naming the limit in bytes)', async () => {
    const big = await send(contactsOfSize(270 * 1024))
    expect(big.statusCode).toBe(400)
    const err = firstError(big)
    expect(err.code).toBe(1001)
    expect(err.details).toContain('contacts')
    expect(err.details).toContain(`${MAX_CONTENT_BYTES} bytes`)
    expect(firstError(await send(contactsOfSize(MAX_CONTENT_BYTES + 1))).code).toBe(1001)

    const largest = await send(contactsOfSize(MAX_CONTENT_BYTES))
    expect(largest.statusCode).toBe(201)
    const row = await t.store.messages.get(largest.json().messages[0].id)
    expect(row).toMatchObject({ status: 'queued', type: 'contacts' })
  })

  it('answers cards nested 150 and 5,000 levels with 400 / 1009, not 500', async () => {
    for (const levels of [150, 5000]) {
      const res = await send(deepContactsJson(levels))
      expect(res.statusCode, `${levels} levels`).toBe(400)
      expect(firstError(res)).toMatchObject({ code: 1009 })
      expect(firstError(res).details).toContain(`${MAX_NESTING_DEPTH} levels`)
    }
  })

  it('refuses a settings backup whose decrypted content nests too deep (1009), creating nothing', async () => {
    const numbersBefore = (await t.store.numbers.list()).length
    const snapshot = {
      version: 1,
      number: { cc: '1', number: '5550123', wa_id: '15550123', display_name: 'Deep', status: 'pending', shard_count: 1 },
      profile: {},
      // as deep as JSON.stringify (in encryptBackup) still goes; a hand-made backup could go deeper
      settings: nested(1000),
    }
    const data = await encryptBackup(snapshot, 'pw')
    const res = await call(t.app, { bearer: t.admin }, { method: 'POST', url: '/v1/settings/restore', payload: { data, password: 'pw' } })
    expect(res.statusCode).toBe(400)
    expect(firstError(res)).toMatchObject({ code: 1009 })
    expect(firstError(res).details).toContain('data')
    expect(firstError(res).details).toContain(`${MAX_NESTING_DEPTH} levels`)
    expect((await t.store.numbers.list()).length).toBe(numbersBefore)
  })
})
