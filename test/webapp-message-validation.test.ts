import { describe, expect, it } from 'vitest'
import { WaboxError } from '../src/errors/index.js'
import { validateOutbound } from '../src/domain/message/validation.js'

const opts = { requireNamespace: true, mediaProviders: ['cdn'] }

function rejects(body: unknown, code: number, detail?: string, o = opts): void {
  let err: unknown
  try {
    validateOutbound(body, o)
  } catch (e) {
    err = e
  }
  expect(err, JSON.stringify(body)).toBeInstanceOf(WaboxError)
  const w = err as WaboxError
  expect(w.code, `${JSON.stringify(body)} → ${w.details}`).toBe(code)
  if (detail) expect(w.details).toContain(detail)
}

const list = (sections: unknown[]) => ({
  to: '15551234567', type: 'interactive',
  interactive: { type: 'list', body: { text: 'pick' }, action: { button: 'Menu', sections } },
})
const rows = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, title: `Row ${i}` }))

describe('validateOutbound: envelope', () => {
  it('normalises `to` to digits and defaults the type to text', () => {
    const v = validateOutbound({ to: '+1 (631) 555-1234', text: { body: 'hi' } }, opts)
    expect(v.content).toEqual({ type: 'text', to: '16315551234', text: { body: 'hi' } })
  })

  it('names the missing or invalid field', () => {
    rejects({ text: { body: 'x' } }, 1008, "'to'")
    rejects({ to: 'not-a-number', text: { body: 'x' } }, 1009, "'to'")
    rejects({ to: 16315551234, text: { body: 'x' } }, 1009, "'to'")
    rejects({ to: '16315551234', type: 'fax', fax: {} }, 1009, "'type'")
    rejects({ to: '16315551234', type: 'image' }, 1008, "'image'")
    rejects({ to: '16315551234', text: 'hi' }, 1009, "'text'")
    rejects('hello', 1008, "'body'")
  })

  it('accepts only individual recipients (1002)', () => {
    rejects({ recipient_type: 'group', to: '16315551234', text: { body: 'x' } }, 1002, 'group')
    rejects({ recipient_type: 'someone', to: '16315551234', text: { body: 'x' } }, 1002)
    expect(validateOutbound({ recipient_type: 'individual', to: '16315551234', text: { body: 'x' } }, opts).content.to).toBe('16315551234')
  })

  it('takes a ttl in days on templates only', () => {
    const template = { namespace: 'ns', name: 'hello', language: { code: 'en', policy: 'deterministic' } }
    expect(validateOutbound({ to: '16315551234', type: 'template', template, ttl: { days: 2 } }, opts).ttlMs).toBe(2 * 86_400_000)
    rejects({ to: '16315551234', type: 'template', template, ttl: { days: 31 } }, 1009, 'ttl.days')
    rejects({ to: '16315551234', text: { body: 'x' }, ttl: { days: 2 } }, 1010, "'ttl'")
  })

  it('keeps context and biz_opaque_callback_data', () => {
    const v = validateOutbound({ to: '16315551234', text: { body: 'x' }, context: { message_id: 'wamid.1' }, biz_opaque_callback_data: 'ref' }, opts)
    expect(v.content).toMatchObject({ context: { message_id: 'wamid.1' }, biz_opaque_callback_data: 'ref' })
    rejects({ to: '16315551234', text: { body: 'x' }, context: {} }, 1008, 'context.message_id')
  })
})

describe('validateOutbound: types', () => {
  it('text: 4096 characters at most (1001), counted as characters', () => {
    expect(() => validateOutbound({ to: '16315551234', text: { body: '😀'.repeat(4096) } }, opts)).not.toThrow()
    rejects({ to: '16315551234', text: { body: 'a'.repeat(4097) } }, 1001, '4097')
    rejects({ to: '16315551234', text: {} }, 1008, 'text.body')
    rejects({ to: '16315551234', text: { body: '   ' } }, 1009, 'text.body')
    expect(validateOutbound({ to: '16315551234', preview_url: true, text: { body: 'https://x.y' } }, opts).content).toMatchObject({ preview_url: true })
  })

  it('media: id or link, never both; captions and filenames where they belong', () => {
    const v = validateOutbound({ to: '16315551234', type: 'image', image: { id: 'm1', caption: 'c' } }, opts)
    expect(v.content).toMatchObject({ image: { id: 'm1', caption: 'c' } })
    expect(v.mediaIds).toEqual([{ path: 'image.id', id: 'm1', categories: ['image'] }])
    expect(validateOutbound({ to: '16315551234', type: 'document', document: { link: 'https://x.y/a.pdf', filename: 'a.pdf' } }, opts).mediaIds).toEqual([])
    rejects({ to: '16315551234', type: 'image', image: {} }, 1008, 'image.id')
    rejects({ to: '16315551234', type: 'image', image: { id: 'm1', link: 'https://x.y' } }, 1009, 'not both')
    rejects({ to: '16315551234', type: 'image', image: { link: 'ftp://x.y/a.png' } }, 1009, 'image.link')
    rejects({ to: '16315551234', type: 'audio', audio: { id: 'm1', caption: 'no' } }, 1010, 'audio.caption')
    rejects({ to: '16315551234', type: 'image', image: { id: 'm1', filename: 'a.png' } }, 1010, 'image.filename')
    rejects({ to: '16315551234', type: 'video', video: { id: 'm1', caption: 'c'.repeat(1025) } }, 1009, 'video.caption')
  })

  it('media providers must be configured', () => {
    expect(validateOutbound({ to: '16315551234', type: 'image', image: { link: 'https://cdn/x.png', provider: { name: 'cdn' } } }, opts).content)
      .toMatchObject({ image: { provider: { name: 'cdn' } } })
    rejects({ to: '16315551234', type: 'image', image: { link: 'https://cdn/x.png', provider: { name: 'other' } } }, 1009, 'provider.name')
  })

  it('location: coordinates as numbers or numeric strings, in range', () => {
    const v = validateOutbound({ to: '16315551234', type: 'location', location: { latitude: '52.5', longitude: 13.4, name: 'Berlin' } }, opts)
    expect(v.content).toMatchObject({ location: { latitude: 52.5, longitude: 13.4, name: 'Berlin' } })
    rejects({ to: '16315551234', type: 'location', location: { longitude: 1 } }, 1008, 'location.latitude')
    rejects({ to: '16315551234', type: 'location', location: { latitude: 91, longitude: 1 } }, 1009, 'location.latitude')
  })

  it('contacts: formatted_name required, birthday as YYYY-MM-DD', () => {
    const card = { name: { formatted_name: 'Ada', first_name: 'Ada' }, phones: [{ phone: '+1 555', type: 'CELL' }], birthday: '1815-12-10' }
    expect(validateOutbound({ to: '16315551234', type: 'contacts', contacts: [card] }, opts).content).toMatchObject({ contacts: [card] })
    rejects({ to: '16315551234', type: 'contacts', contacts: [] }, 1009, "'contacts'")
    rejects({ to: '16315551234', type: 'contacts', contacts: [{ name: {} }] }, 1008, 'contacts[0].name.formatted_name')
    rejects({ to: '16315551234', type: 'contacts', contacts: [{ name: { formatted_name: 'x' }, birthday: '10/12/1815' }] }, 1009, 'contacts[0].birthday')
  })

  it('reaction: one emoji, or empty to remove', () => {
    expect(validateOutbound({ to: '16315551234', type: 'reaction', reaction: { message_id: 'wamid.1', emoji: '👍🏽' } }, opts).content)
      .toMatchObject({ reaction: { emoji: '👍🏽' } })
    expect(() => validateOutbound({ to: '16315551234', type: 'reaction', reaction: { message_id: 'wamid.1', emoji: '' } }, opts)).not.toThrow()
    rejects({ to: '16315551234', type: 'reaction', reaction: { message_id: 'wamid.1', emoji: '👍👍' } }, 1009, 'reaction.emoji')
    rejects({ to: '16315551234', type: 'reaction', reaction: { emoji: '👍' } }, 1008, 'reaction.message_id')
  })
})

describe('validateOutbound: templates', () => {
  const base = { to: '16315551234', type: 'template' }
  const tpl = (extra: object) => ({ ...base, template: { namespace: 'ns', name: 'order', language: { code: 'en_US', policy: 'deterministic' }, ...extra } })

  it('on-prem requires the namespace (2014); Cloud does not', () => {
    rejects({ ...base, template: { name: 'order', language: { code: 'en' } } }, 2014, 'template.namespace')
    expect(validateOutbound({ ...base, template: { name: 'order', language: { code: 'en' } } }, { requireNamespace: false }).content)
      .toMatchObject({ template: { name: 'order' } })
    rejects({ ...base, hsm: { element_name: 'x', language: { code: 'en' } }, type: 'hsm' }, 2014, 'hsm.namespace')
  })

  it('checks components and parameters', () => {
    const v = validateOutbound(tpl({
      components: [
        { type: 'header', parameters: [{ type: 'image', image: { id: 'img1' } }] },
        { type: 'body', parameters: [{ type: 'text', text: 'Ada' }, { type: 'currency', currency: { fallback_value: '$1', code: 'USD', amount_1000: 1000 } }] },
        { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'yes' }] },
      ],
    }), opts)
    expect(v.mediaIds).toEqual([{ path: 'template.components[0].parameters[0].image.id', id: 'img1', categories: ['image'] }])
    rejects(tpl({ language: {} }), 1008, 'template.language.code')
    rejects(tpl({ language: { code: 'english' } }), 1009, 'template.language.code')
    rejects(tpl({ components: [{ type: 'footer' }] }), 1009, 'template.components[0].type')
    rejects(tpl({ components: [{ type: 'button', index: 0 }] }), 1008, 'template.components[0].sub_type')
    rejects(tpl({ components: [{ type: 'button', sub_type: 'url', index: 12 }] }), 1009, 'template.components[0].index')
    rejects(tpl({ components: [{ type: 'body', parameters: [{ type: 'text' }] }] }), 1008, 'template.components[0].parameters[0].text')
    rejects(tpl({ components: [{ type: 'body', parameters: [{ type: 'currency', currency: { fallback_value: '$', code: 'usd', amount_1000: 1 } }] }] }),
      1009, 'currency.code')
  })

  it('header media carries no caption, as in interactive headers (1010)', () => {
    const header = (image: object) => tpl({ components: [{ type: 'header', parameters: [{ type: 'image', image }] }] })
    expect(() => validateOutbound(header({ id: 'img1' }), opts)).not.toThrow()
    rejects(header({ id: 'img1', caption: 'no' }), 1010, 'template.components[0].parameters[0].image.caption')
  })

  it('flow, catalog and mpm buttons take an action parameter; other buttons do not', () => {
    const button = (sub_type: string, action: unknown) => tpl({ components: [{ type: 'button', sub_type, index: '0', parameters: [{ type: 'action', action }] }] })
    expect(validateOutbound(button('flow', { flow_token: 'abc', flow_action_data: { step: 1 } }), opts).content)
      .toMatchObject({ template: { components: [{ parameters: [{ type: 'action', action: { flow_token: 'abc', flow_action_data: { step: 1 } } }] }] } })
    expect(() => validateOutbound(button('catalog', { thumbnail_product_retailer_id: 'sku1' }), opts)).not.toThrow()
    expect(() => validateOutbound(button('mpm', { thumbnail_product_retailer_id: 'sku1', sections: [{ title: 'All' }] }), opts)).not.toThrow()
    rejects(button('flow', { flow_token: 'x'.repeat(201) }), 1009, 'action.flow_token')
    rejects(button('flow', { flow_action_data: 'no' }), 1009, 'action.flow_action_data')
    rejects(button('catalog', { thumbnail_product_retailer_id: 7 }), 1009, 'action.thumbnail_product_retailer_id')
    rejects(button('flow', 'abc'), 1009, 'parameters[0].action')
    rejects(button('quick_reply', { flow_token: 'abc' }), 1009, 'parameters[0].type')
  })

  it('hsm: localizable params need a default', () => {
    const hsm = { namespace: 'ns', element_name: 'hello', language: { code: 'en', policy: 'deterministic' }, localizable_params: [{ default: '1234' }] }
    expect(validateOutbound({ to: '16315551234', type: 'hsm', hsm }, opts).content).toMatchObject({ hsm })
    rejects({ to: '16315551234', type: 'hsm', hsm: { ...hsm, localizable_params: [{}] } }, 1008, 'hsm.localizable_params[0].default')
  })
})

describe('validateOutbound: interactive limits', () => {
  it('lists: 1–10 sections (2015), 1–10 rows in total (2016), unique row ids', () => {
    expect(() => validateOutbound(list([{ rows: rows(10) }]), opts)).not.toThrow()
    rejects(list([]), 2015, '1 to 10 sections')
    rejects(list(Array.from({ length: 11 }, (_, i) => ({ title: `S${i}`, rows: rows(1, `s${i}`) }))), 2015)
    rejects(list([{ title: 'A', rows: rows(6, 'a') }, { title: 'B', rows: rows(5, 'b') }]), 2016, 'at most 10 rows')
    rejects(list([{ rows: [] }]), 2016)
    rejects(list([{ rows: rows(2) }, { rows: rows(1, 'x') }]), 1008, 'sections[0].title')
    rejects(list([{ rows: [{ id: 'a', title: 'x' }, { id: 'a', title: 'y' }] }]), 1009, 'unique')
    rejects(list([{ rows: [{ id: 'a', title: 'x'.repeat(25) }] }]), 1009, 'rows[0].title')
    rejects({ ...list([{ rows: rows(1) }]), interactive: { type: 'list', body: { text: 'x' }, action: { sections: [{ rows: rows(1) }] } } }, 1008, 'action.button')
  })

  it('buttons: 1–3 unique reply buttons, titles up to 20 characters', () => {
    const buttons = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'reply', reply: { id: `b${i}`, title: `B${i}` } }))
    const msg = (b: unknown[], extra: object = {}) => ({ to: '15551234567', type: 'interactive', interactive: { type: 'button', body: { text: 'pick' }, action: { buttons: b }, ...extra } })
    expect(() => validateOutbound(msg(buttons(3)), opts)).not.toThrow()
    rejects(msg(buttons(4)), 1009, 'interactive.action.buttons')
    rejects(msg([{ type: 'reply', reply: { id: 'x', title: 'y'.repeat(21) } }]), 1009, 'reply.title')
    rejects(msg([{ type: 'reply', reply: { id: ' x', title: 'y' } }]), 1009, 'reply.id')
    rejects(msg([{ type: 'reply', reply: { id: 'x', title: 'y' } }, { type: 'reply', reply: { id: 'x', title: 'z' } }]), 1009, 'unique')
    const withImage = validateOutbound(msg(buttons(1), { header: { type: 'image', image: { id: 'h1' } } }), opts)
    expect(withImage.mediaIds).toEqual([{ path: 'interactive.header.image.id', id: 'h1', categories: ['image'] }])
    rejects(msg(buttons(1), { body: { text: 'x'.repeat(1025) } }), 1009, 'interactive.body.text')
    rejects(msg(buttons(1), { footer: { text: 'x'.repeat(61) } }), 1009, 'interactive.footer.text')
  })

  it('list headers are text only; product lists need sections, a header and at most 30 products (2023)', () => {
    rejects({ ...list([{ rows: rows(1) }]), interactive: { ...list([{ rows: rows(1) }]).interactive, header: { type: 'image', image: { id: 'x' } } } }, 1009, 'header.type')
    const pl = (items: number) => ({
      to: '15551234567', type: 'interactive',
      interactive: {
        type: 'product_list', header: { type: 'text', text: 'Shop' }, body: { text: 'b' },
        action: { catalog_id: 'c1', sections: [{ title: 'All', product_items: Array.from({ length: items }, (_, i) => ({ product_retailer_id: `p${i}` })) }] },
      },
    })
    expect(() => validateOutbound(pl(30), opts)).not.toThrow()
    rejects(pl(31), 2023)
    rejects(pl(0), 2023)
  })

  it('call permission requests, voice calls, contact info requests and carousels: a body, an action naming its type, carousel cards', () => {
    const msg = (type: string, action: unknown, extra: object = {}) => ({ to: '15551234567', type: 'interactive', interactive: { type, body: { text: 'hi' }, action, ...extra } })
    for (const type of ['call_permission_request', 'voice_call', 'request_contact_info']) {
      expect(() => validateOutbound(msg(type, { name: type }), opts), type).not.toThrow()
      rejects(msg(type, { name: 'other' }), 1009, 'interactive.action.name')
      rejects(msg(type, {}), 1008, 'interactive.action.name')
      rejects(msg(type, { name: type }, { body: { text: 'x'.repeat(1025) } }), 1009, 'interactive.body.text')
      rejects({ to: '15551234567', type: 'interactive', interactive: { type, action: { name: type } } }, 1008, 'interactive.body')
    }
    expect(() => validateOutbound(msg('voice_call', { name: 'voice_call', parameters: { display_text: 'Call us' } }), opts)).not.toThrow()
    const card = { card_index: 0, type: 'cta_url', header: { type: 'image', image: { link: 'https://x.y/a.png' } }, action: { name: 'cta_url', parameters: { display_text: 'Buy', url: 'https://x.y' } } }
    expect(() => validateOutbound(msg('carousel', { cards: [card, { ...card, card_index: 1 }] }), opts)).not.toThrow()
    rejects(msg('carousel', {}), 1008, 'interactive.action.cards')
    rejects(msg('carousel', { cards: [] }), 1009, 'interactive.action.cards')
    rejects(msg('carousel', { cards: ['x'] }), 1009, 'interactive.action.cards[0]')
  })

  it('flows and cta_url follow the Cloud shapes', () => {
    const flow = (parameters: object) => ({ to: '15551234567', type: 'interactive', interactive: { type: 'flow', body: { text: 'go' }, action: { name: 'flow', parameters } } })
    expect(() => validateOutbound(flow({ flow_message_version: '3', flow_cta: 'Book', flow_id: '1', flow_action_payload: { screen: 'A' } }), opts)).not.toThrow()
    rejects(flow({ flow_message_version: '3', flow_cta: 'Book', flow_id: '1' }), 1008, 'flow_action_payload')
    rejects(flow({ flow_message_version: '3', flow_cta: 'Book' }), 1008, 'flow_id')
    rejects(flow({ flow_message_version: '3', flow_cta: 'Book', flow_id: '1', flow_action: 'data_exchange', flow_action_payload: { screen: 'A' } }), 1010)
    const cta = { to: '15551234567', type: 'interactive', interactive: { type: 'cta_url', body: { text: 'b' }, action: { name: 'cta_url', parameters: { display_text: 'Open', url: 'notaurl' } } } }
    rejects(cta, 1009, 'parameters.url')
  })
})
