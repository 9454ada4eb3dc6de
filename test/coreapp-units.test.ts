import { describe, expect, it } from 'vitest'
import { failureOfWireError, webhookErrorOf } from '../src/coreapp/failures.js'
import { identityChangedMessage, inboundMessage } from '../src/coreapp/inbound-event.js'
import { providerHeaders } from '../src/coreapp/media-resolver.js'
import { buildContent } from '../src/coreapp/payload.js'
import { vnameOf } from '../src/coreapp/vname.js'
import { normalizeContactInput } from '../src/domain/contact-input.js'
import { conversationObject, isBusinessInitiated, messageCategory, pricingObject } from '../src/domain/conversations.js'
import { resolveHsm, resolveTemplate, type TemplatePack } from '../src/domain/templates.js'
import { isWindowOpen, SERVICE_WINDOW_MS, windowAllows } from '../src/domain/window.js'
import type { Content, MediaRef } from '../src/wire/content.js'
import { encode } from '@msgpack/msgpack'

const pack: TemplatePack = {
  namespace: 'ns_acme',
  templates: [
    {
      name: 'order', language: 'en_US', category: 'UTILITY', status: 'APPROVED', components: [
        { type: 'HEADER', format: 'TEXT', text: 'Order {{1}}' },
        { type: 'BODY', text: 'Hi {{1}}, total {{2}}.' },
        { type: 'FOOTER', text: 'Acme' },
        { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Stop' }, { type: 'URL', text: 'Track', url: 'https://t.test/{{1}}' }, { type: 'COPY_CODE', text: 'Copy' }] },
      ],
    },
    { name: 'order', language: 'de', category: 'UTILITY', status: 'APPROVED', components: [{ type: 'BODY', text: 'Hallo {{1}}' }] },
    { name: 'named', language: 'en_US', category: 'MARKETING', status: 'APPROVED', components: [{ type: 'BODY', text: 'Dear {{first_name}}, code {{code}}' }] },
    { name: 'photo', language: 'en_US', category: 'MARKETING', status: 'APPROVED', components: [{ type: 'HEADER', format: 'IMAGE' }, { type: 'BODY', text: 'Look' }] },
    { name: 'paused', language: 'en_US', category: 'MARKETING', status: 'PAUSED', components: [{ type: 'BODY', text: 'x' }] },
    { name: 'disabled', language: 'en_US', category: 'MARKETING', status: 'DISABLED', components: [{ type: 'BODY', text: 'x' }] },
    { name: 'rejected', language: 'en_US', category: 'MARKETING', status: 'REJECTED', components: [{ type: 'BODY', text: 'x' }] },
    { name: 'pending', language: 'en_US', category: 'MARKETING', status: 'PENDING', components: [{ type: 'BODY', text: 'x' }] },
    { name: 'long', language: 'en_US', category: 'MARKETING', status: 'APPROVED', components: [{ type: 'BODY', text: '{{1}}' }] },
    {
      name: 'shop', language: 'en_US', category: 'MARKETING', status: 'APPROVED',
      components: [{ type: 'BODY', text: 'Browse' }, { type: 'BUTTONS', buttons: [{ type: 'FLOW', text: 'Sign up' }, { type: 'CATALOG', text: 'View' }] }],
    },
  ],
}

const text = (t: string) => ({ type: 'text' as const, text: t })
const orderComponents = [
  { type: 'header' as const, parameters: [text('#1')] },
  { type: 'body' as const, parameters: [text('Ann'), { type: 'currency' as const, currency: { fallback_value: '$5', code: 'USD', amount_1000: 5000 } }] },
  { type: 'button' as const, sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload' as const, payload: 'STOP' }] },
  { type: 'button' as const, sub_type: 'url', index: '1', parameters: [text('x1')] },
  { type: 'button' as const, sub_type: 'copy_code', index: '2', parameters: [{ type: 'coupon_code' as const, coupon_code: 'SAVE10' }] },
]

describe('template rules and hydration', () => {
  it('hydrates header, body, footer and every kind of button', () => {
    const r = resolveTemplate(pack, { namespace: 'ns_acme', name: 'order', language: { code: 'en_US', policy: 'deterministic' }, components: orderComponents })
    expect(r).toEqual({
      ok: true,
      template: {
        name: 'order', language: 'en_US', category: 'utility', header: { text: 'Order #1' }, body: 'Hi Ann, total $5.', footer: 'Acme',
        buttons: [{ type: 'quick_reply', text: 'Stop', payload: 'STOP' }, { type: 'url', text: 'Track', url: 'https://t.test/x1' }, { type: 'copy_code', text: 'Copy', payload: 'SAVE10' }],
      },
    })
  })

  it('fills named parameters by parameter_name', () => {
    const r = resolveTemplate(pack, { name: 'named', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ ...text('X9'), parameter_name: 'code' }, { ...text('Bo'), parameter_name: 'first_name' }] }] })
    expect(r.ok && r.template.body).toBe('Dear Bo, code X9')
  })

  it('answers missing (2001), wrong language (2001, fallback finds the base language), paused 2061, disabled 2062, rejected 2060, pending 2001', () => {
    const code = (name: string, language = 'en_US', policy?: 'fallback') => {
      const r = resolveTemplate(pack, { name, language: { code: language, ...(policy ? { policy } : {}) } })
      return r.ok ? 'ok' : r.code
    }
    expect(code('absent')).toBe(2001)
    expect(code('order', 'de_AT')).toBe(2001)
    expect(resolveTemplate(pack, { name: 'order', language: { code: 'de_AT', policy: 'fallback' }, components: [{ type: 'body', parameters: [text('Ann')] }] }))
      .toMatchObject({ ok: true, template: { language: 'de', body: 'Hallo Ann' } })
    expect(code('paused')).toBe(2061)
    expect(code('disabled')).toBe(2062)
    expect(code('rejected')).toBe(2060)
    expect(code('pending')).toBe(2001)
  })

  it('answers 2000 for wrong parameter counts, 2012 for a wrong parameter type, 2005 for a too long body, 2001 for another namespace', () => {
    const fail = (components: Parameters<typeof resolveTemplate>[1]['components'], name = 'order') => {
      const r = resolveTemplate(pack, { name, language: { code: 'en_US' }, components })
      return r.ok ? 'ok' : [r.code, r.details]
    }
    expect(fail(orderComponents.filter((c) => c.type !== 'header'))).toEqual([2000, 'header: expected 1 parameters, got 0'])
    expect(fail(orderComponents.map((c) => (c.type === 'body' ? { ...c, parameters: [text('Ann')] } : c)))).toEqual([2000, 'body: expected 2 parameters, got 1'])
    expect(fail(orderComponents.filter((c) => c.sub_type !== 'url'))?.[0]).toBe(2000)
    expect(fail([...orderComponents, { type: 'button', sub_type: 'quick_reply', index: '5', parameters: [] }])?.[0]).toBe(2000)
    expect(fail(orderComponents.map((c) => (c.type === 'header' ? { ...c, parameters: [{ type: 'image' as const, image: { id: 'm1' } }] } : c)))?.[0]).toBe(2012)
    expect(fail([{ type: 'body', parameters: [text('x'.repeat(1025))] }], 'long')?.[0]).toBe(2005)
    expect(fail([{ type: 'body', parameters: [text('x')] }], 'photo')).toEqual([2000, 'header: expected 1 image parameter, got 0'])
    const other = resolveTemplate(pack, { namespace: 'ns_other', name: 'order', language: { code: 'en_US' }, components: orderComponents })
    expect(other).toMatchObject({ ok: false, code: 2001, details: expect.stringContaining('namespace') })
  })

  it('takes one action parameter on flow and catalog buttons; another parameter type is 2012', () => {
    const action = (index: string, sub_type: string, a: Record<string, unknown>) => ({ type: 'button' as const, sub_type, index, parameters: [{ type: 'action' as const, action: a }] })
    const r = resolveTemplate(pack, { name: 'shop', language: { code: 'en_US' }, components: [action('0', 'flow', { flow_token: 'abc' }), action('1', 'catalog', { thumbnail_product_retailer_id: 'sku1' })] })
    expect(r).toMatchObject({ ok: true, template: { body: 'Browse', buttons: [{ type: 'flow', text: 'Sign up' }, { type: 'catalog', text: 'View' }] } })
    expect(resolveTemplate(pack, { name: 'shop', language: { code: 'en_US' } })).toMatchObject({ ok: true })
    expect(resolveTemplate(pack, { name: 'shop', language: { code: 'en_US' }, components: [{ type: 'button', sub_type: 'flow', index: '0', parameters: [text('x')] }] }))
      .toMatchObject({ ok: false, code: 2012 })
  })

  it('hands a media header back for upload', () => {
    const r = resolveTemplate(pack, { name: 'photo', language: { code: 'en_US' }, components: [{ type: 'header', parameters: [{ type: 'image', image: { link: 'https://x.test/a.png' } }] }] })
    expect(r).toMatchObject({ ok: true, template: { header: { media: { type: 'image', object: { link: 'https://x.test/a.png' } } }, body: 'Look' } })
  })

  it('resolves legacy hsm: namespace required (2014), localizable_params fill the body', () => {
    expect(resolveHsm(pack, { namespace: '', element_name: 'order', language: { code: 'de' } })).toMatchObject({ ok: false, code: 2014 })
    expect(resolveHsm(pack, { namespace: 'ns_x', element_name: 'order', language: { code: 'de' } })).toMatchObject({ ok: false, code: 2001 })
    expect(resolveHsm(pack, { namespace: 'ns_acme', element_name: 'order', language: { code: 'de' }, localizable_params: [{ default: 'Ann' }] }))
      .toMatchObject({ ok: true, template: { body: 'Hallo Ann' } })
    expect(resolveHsm(pack, { namespace: 'ns_acme', element_name: 'order', language: { code: 'de' }, localizable_params: [] })).toMatchObject({ ok: false, code: 2000 })
  })
})

describe('window, conversations, contact inputs', () => {
  it('keeps the window open for 24 hours after the last inbound message', () => {
    expect(isWindowOpen(null, 1000)).toBe(false)
    expect(isWindowOpen(0, SERVICE_WINDOW_MS - 1)).toBe(true)
    expect(isWindowOpen(0, SERVICE_WINDOW_MS)).toBe(false)
    expect(windowAllows('text', undefined, 5)).toBe(false)
    expect(windowAllows('template', undefined, 5)).toBe(true)
    expect(windowAllows('hsm', null, 5)).toBe(true)
  })

  it('categorises messages and renders conversation and pricing', () => {
    expect(messageCategory(undefined)).toBe('service')
    expect(messageCategory('AUTHENTICATION')).toBe('authentication')
    expect(isBusinessInitiated('service')).toBe(false)
    expect(isBusinessInitiated('marketing')).toBe(true)
    expect(conversationObject({ id: 'c1', category: 'utility', expiresAt: 86_400_999 })).toEqual({ id: 'c1', expiration_timestamp: '86400', origin: { type: 'utility' } })
    expect(pricingObject('service')).toEqual({ billable: true, pricing_model: 'CBP', category: 'service' })
  })

  it('normalises contact inputs to digits and rejects what cannot be a phone number', () => {
    expect(normalizeContactInput('+1 (631) 555-1004')).toBe('16315551004')
    expect(normalizeContactInput('1-631-555-1005')).toBe('16315551005')
    expect(normalizeContactInput('+163155')).toBeNull()
    expect(normalizeContactInput('call me')).toBeNull()
    expect(normalizeContactInput('1234567890123456')).toBeNull()
  })
})

describe('network errors as webhook errors', () => {
  it('maps each network refusal to its documented code', () => {
    const code = (c: Parameters<typeof failureOfWireError>[0]) => {
      const f = failureOfWireError(c, '')
      return f === 'retry' ? f : [f.code, f.cloudCode]
    }
    expect(code('not_registered')).toEqual([1013, undefined])
    expect(code('spam_rate_limit')).toEqual([471, undefined])
    expect(code('pair_rate_limit')).toEqual([429, 131056])
    expect(code('throughput_limit')).toEqual([429, undefined])
    expect(code('blocked')).toEqual([1026, undefined])
    expect(code('internal')).toBe('retry')
    expect(code('wrong_shard')).toBe('retry')
    // a refusal of the envelope itself is permanent: that message fails, the next one goes
    expect(code('too_large')).toEqual([500, undefined])
    expect(code('bad_request')).toEqual([500, undefined])
    expect(webhookErrorOf({ code: 429, details: 'too many', cloudCode: 131056 })).toEqual({ code: 429, title: 'Rate limit hit', details: 'too many', cloud_code: 131056 })
    expect(webhookErrorOf({ code: 470, details: '' })).toEqual({ code: 470, title: 'Re-engagement message' })
  })
})

const ref: Omit<MediaRef, 'caption' | 'filename'> = { blobId: 'b1', key: new Uint8Array(32), iv: new Uint8Array(12), sha256: 'ab', mimeType: 'image/png', size: 3 }

describe('end-to-end payloads', () => {
  const meta = { id: 'wamid.1', sentAt: 1000, profileName: 'Acme' }

  it('builds text, media, location, contacts, interactive and reaction content', () => {
    expect(buildContent({ to: '1', type: 'text', text: { body: 'hi' }, preview_url: true, context: { message_id: 'wamid.0' } }, meta)).toEqual({
      kind: 'message', id: 'wamid.1', sentAt: 1000, profileName: 'Acme', type: 'text', text: { body: 'hi', preview_url: true }, context: { id: 'wamid.0' },
    })
    expect(buildContent({ to: '1', type: 'image', image: { id: 'm', caption: 'c', filename: 'ignored' } }, meta, { media: ref })).toMatchObject({ type: 'image', media: { ...ref, caption: 'c' } })
    expect(buildContent({ to: '1', type: 'document', document: { id: 'm', caption: 'c', filename: 'f.pdf' } }, meta, { media: ref })).toMatchObject({ media: { caption: 'c', filename: 'f.pdf' } })
    expect((buildContent({ to: '1', type: 'audio', audio: { id: 'm', caption: 'no' } }, meta, { media: ref }) as { media: MediaRef }).media.caption).toBeUndefined()
    expect(() => buildContent({ to: '1', type: 'video', video: { id: 'm' } }, meta)).toThrow(/uploaded media/)
    expect(buildContent({ to: '1', type: 'location', location: { latitude: 1, longitude: 2 } }, meta)).toMatchObject({ type: 'location', location: { latitude: 1, longitude: 2 } })
    expect(buildContent({ to: '1', type: 'contacts', contacts: [{ name: { formatted_name: 'A' } }] }, meta)).toMatchObject({ type: 'contacts', contacts: [{ name: { formatted_name: 'A' } }] })
    expect(buildContent({ to: '1', type: 'interactive', interactive: { type: 'button', body: { text: 'b' } } }, meta)).toMatchObject({ type: 'interactive', interactive: { type: 'button' } })
    expect(buildContent({ to: '1', type: 'reaction', reaction: { message_id: 'w', emoji: '👍' } }, meta)).toMatchObject({ type: 'reaction', reaction: { message_id: 'w', emoji: '👍' } })
  })

  it('builds a hydrated template, with its header media', () => {
    const template = { name: 'photo', language: 'en_US', category: 'marketing', header: { media: { type: 'image' as const, object: { link: 'x' } } }, body: 'Look', buttons: [{ type: 'quick_reply', text: 'Stop', payload: 'S' }] }
    expect(buildContent({ to: '1', type: 'template', template: { name: 'photo', language: { code: 'en_US' } } }, meta, { template, headerMedia: ref })).toMatchObject({
      type: 'template', template: { name: 'photo', language: 'en_US', body: 'Look', header: { media: ref }, buttons: [{ type: 'quick_reply', text: 'Stop', payload: 'S' }] },
    })
    expect(() => buildContent({ to: '1', type: 'template', template: { name: 'photo', language: { code: 'en_US' } } }, meta, { template })).toThrow()
  })
})

describe('inbound callbacks', () => {
  const ctx = { from: '15550001', timestamp: '1700000000', businessWaId: '15550100' }
  const base = { kind: 'message' as const, id: 'in.1', sentAt: 1 }

  it('renders each message type in the On-Prem shape', () => {
    expect(inboundMessage({ ...base, type: 'text', text: { body: 'hi' }, context: { id: 'wamid.9' } }, ctx)).toEqual({
      from: '15550001', id: 'in.1', timestamp: '1700000000', type: 'text', text: { body: 'hi' }, context: { from: '15550100', id: 'wamid.9' },
    })
    const voice: Content = { ...base, type: 'voice', media: { ...ref, mimeType: 'audio/ogg; codecs=opus' } }
    expect(inboundMessage(voice, { ...ctx, media: { id: 'm1', mimeType: 'audio/ogg; codecs=opus', sha256: 'ab' } }).voice).toEqual({ id: 'm1', mime_type: 'audio/ogg; codecs=opus', sha256: 'ab' })
    const doc: Content = { ...base, type: 'document', media: { ...ref, caption: 'c', filename: 'f.pdf' } }
    expect(inboundMessage(doc, { ...ctx, media: { id: 'm2', mimeType: 'application/pdf', sha256: 'cd' }, mediaError: 'gone' })).toMatchObject({
      document: { id: 'm2', mime_type: 'application/pdf', sha256: 'cd', caption: 'c', filename: 'f.pdf' }, errors: [{ code: 400 }],
    })
    expect(inboundMessage({ ...base, type: 'button', button: { text: 'Stop', payload: 'S' } }, ctx)).toMatchObject({ type: 'button', button: { text: 'Stop', payload: 'S' } })
    expect(inboundMessage({ ...base, type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'y', title: 'Y' } } }, ctx).interactive)
      .toEqual({ type: 'button_reply', button_reply: { id: 'y', title: 'Y' } })
    expect(inboundMessage({ ...base, type: 'reaction', reaction: { message_id: 'w', emoji: '😀' } }, ctx).reaction).toEqual({ message_id: 'w', emoji: '😀' })
    expect(inboundMessage({ ...base, type: 'template', template: { name: 'n', language: 'en', body: 'b' } }, ctx)).toMatchObject({ type: 'unknown', errors: [{ code: 501 }] })
  })

  it('reports an identity change as a system message', () => {
    expect(identityChangedMessage({ id: 's1', from: '1555', timestamp: '10', hash: 'h=', createdAt: 10_000, name: 'Ann' })).toEqual({
      from: '1555', id: 's1', timestamp: '10', type: 'system',
      system: { body: "Ann's security code changed.", type: 'user_identity_changed' },
      identity: { acknowledged: false, created_timestamp: 10_000, hash: 'h=' },
    })
  })
})

describe('media providers', () => {
  it('authenticates link downloads with the provider\'s bearer token or basic credentials', () => {
    expect(providerHeaders({ name: 'a', type: 'www', config: { bearer: 't0k' } })).toEqual({ authorization: 'Bearer t0k' })
    expect(providerHeaders({ name: 'b', type: 'www', config: { basic: { username: 'u', password: 'p:w' } } })).toEqual({ authorization: 'Basic ' + Buffer.from('u:p:w').toString('base64') })
    expect(providerHeaders({ name: 'c', type: 'www', config: {} })).toEqual({})
  })
})

describe('vname certificates', () => {
  it('reads the display name from a network certificate', () => {
    const cert = encode({ details: encode({ v: 1, issuer: 'wabox-network', cc: '1', phone: '5550100', name: 'Acme Inc', issuedAt: 1 }), signature: new Uint8Array(64) })
    expect(vnameOf(cert)).toEqual({ name: 'Acme Inc', cc: '1', phone: '5550100' })
    expect(vnameOf(Buffer.from('not a certificate'))).toBeUndefined()
    expect(vnameOf(encode({ details: 'x' }))).toBeUndefined()
  })
})
