import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { StatusEvent } from '../src/domain/events.js'
import { DEFAULT_SETTINGS, eventsPerPost, withDefaults } from '../src/domain/settings.js'
import {
  asciiJson, callbackShape, classifyAddress, exponentialDelay, linearDelay, nextRetry, parseWebhookUrl, renderCloudWebhook, renderOnPremWebhook,
  renderPayload, signatureHeader, verifySignature,
} from '../src/webhooks/index.js'
import { statusEvent, textEvent } from './webhooks-harness.js'

const HREF = 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/'

const number = { id: '106540352242922', displayPhoneNumber: '15550783881' }

describe('webhook payload formats', () => {
  it('On-Prem: the inbound example of onprem §8.1', () => {
    const event = textEvent('ABGGFlA5FpafAgo6tHcNmNjXmuSf', 'Hello this is an answer')
    event.message.timestamp = '1518694235'
    expect(renderOnPremWebhook([event])).toEqual({
      contacts: [{ profile: { name: 'Kerry Fisher' }, wa_id: '16315551234' }],
      messages: [{ from: '16315551234', id: 'ABGGFlA5FpafAgo6tHcNmNjXmuSf', timestamp: '1518694235', type: 'text', text: { body: 'Hello this is an answer' } }],
    })
  })

  it('On-Prem: status with conversation and pricing, and a failed status keeping {code,title,details}', () => {
    const sent: StatusEvent = { type: 'status', status: {
      id: 'gBGGEgZHMlEfAgkM1RBkhDRr7t8', recipient_id: '12064001000', status: 'sent', timestamp: '1533332775',
      conversation: { id: 'conv-1', expiration_timestamp: '1533419175', origin: { type: 'user_initiated' } },
      pricing: { billable: true, pricing_model: 'CBP', category: 'user_initiated' },
    } }
    const failed = statusEvent('gBGGEgZHMlEfAgkM1RBkhDRr7t8', 'failed')
    failed.status.errors = [{ code: 470, title: 'Re-engagement message', details: 'Outside the support window' }]
    const body = renderOnPremWebhook([sent, failed])
    expect(Object.keys(body)).toEqual(['statuses'])
    expect(body.statuses).toEqual([sent.status, failed.status])
  })

  it('batches up to 50 On-Prem events per POST by default, one Cloud event, or what batch_size says', () => {
    const webhooks = DEFAULT_SETTINGS.webhooks
    expect(eventsPerPost(webhooks)).toBe(50)
    expect(eventsPerPost({ ...webhooks, format: 'cloud' })).toBe(1)
    expect(eventsPerPost({ ...webhooks, format: 'cloud', batch_size: 5 })).toBe(5)
    expect(eventsPerPost({ ...webhooks, batch_size: 1 })).toBe(1)
  })

  it('a pair rate limit is 429 On-Prem and 131056 on Cloud', () => {
    const failed = statusEvent('wamid.pair', 'failed')
    failed.status.errors = [{ code: 429, title: 'Rate limit hit', details: 'Too many messages to this user', cloud_code: 131056 }]
    expect(renderOnPremWebhook([failed]).statuses?.[0]?.errors).toEqual([{ code: 429, title: 'Rate limit hit', details: 'Too many messages to this user' }])
    const cloud = renderCloudWebhook([failed], number)
    expect(cloud.entry[0]?.changes[0]?.value.statuses?.[0]?.errors?.[0]).toMatchObject({ code: 131056, error_data: { details: 'Too many messages to this user' } })
  })

  it('On-Prem: contacts-check results and error-only callbacks at the top level', () => {
    expect(renderOnPremWebhook([
      { type: 'contacts', contacts: [{ input: '+1 631 555 1234', status: 'valid', wa_id: '16315551234' }] },
      { type: 'error', errors: [{ code: 1014, title: 'Internal error' }] },
    ])).toEqual({
      contacts: [{ input: '+1 631 555 1234', status: 'valid', wa_id: '16315551234' }],
      errors: [{ code: 1014, title: 'Internal error' }],
    })
  })

  it('On-Prem: one contact per sender when a POST carries several of their messages', () => {
    const body = renderOnPremWebhook([textEvent('m1', 'a'), textEvent('m2', 'b'), textEvent('m3', 'c', '4915112345678', 'Ana')])
    expect(body.contacts?.map((c) => c.wa_id)).toEqual(['16315551234', '4915112345678'])
    expect(body.messages?.map((m) => m.id)).toEqual(['m1', 'm2', 'm3'])
  })

  it('Cloud: the envelope of cloud §3.2 around an inbound message', () => {
    expect(renderCloudWebhook([textEvent('wamid.X', 'hi', '16505551234', 'Kerry')], number)).toEqual({
      object: 'whatsapp_business_account',
      entry: [{
        id: '106540352242922',
        changes: [{
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
            contacts: [{ profile: { name: 'Kerry' }, wa_id: '16505551234' }],
            messages: [{ from: '16505551234', id: 'wamid.X', timestamp: '1767225600', type: 'text', text: { body: 'hi' } }],
          },
        }],
      }],
    })
  })

  it('Cloud: a message it cannot show is `unsupported`, naming what it was; On-Prem keeps `unknown`', () => {
    const template = textEvent('wamid.T', 'x')
    template.message = { from: '16315551234', id: 'wamid.T', timestamp: '1767225600', type: 'unknown', errors: [{ code: 501, title: 'Unsupported message type' }] }
    template.unsupported_type = 'template'
    const message = renderCloudWebhook([template], number).entry[0]?.changes[0]?.value.messages?.[0]
    expect(message).toMatchObject({ type: 'unsupported', unsupported: { type: 'template' }, errors: [{ code: 131051, href: HREF }] })
    expect(message).not.toHaveProperty('unknown')
    expect(renderOnPremWebhook([template]).messages?.[0]).toMatchObject({ type: 'unknown', errors: [{ code: 501 }] })
    expect(renderOnPremWebhook([template]).messages?.[0]).not.toHaveProperty('unsupported')
  })

  it('Cloud: failed status errors carry the Cloud code and {code,title,message,error_data:{details}}', () => {
    const failed = statusEvent('wamid.F', 'failed')
    failed.status.errors = [
      { code: 470, title: 'Re-engagement message', details: 'More than 24 hours' },
      { code: 1026, title: 'Receiver Incapable' },
      { code: 429, title: 'Rate limit hit' },
    ]
    const value = renderCloudWebhook([failed], number).entry[0]?.changes[0]?.value
    expect(value?.statuses).toEqual([{
      id: 'wamid.F', recipient_id: '16315551234', status: 'failed', timestamp: '1767225600',
      errors: [
        { code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'More than 24 hours' }, href: HREF },
        { code: 131026, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: 'Message undeliverable' }, href: HREF },
        { code: 130429, title: 'Rate limit hit', message: 'Rate limit hit', error_data: { details: 'Rate limit hit' }, href: HREF },
      ],
    }])
  })

  it('Cloud: conversation expiry as a number, voice as audio, system types and no On-Prem-only fields', () => {
    const sent: StatusEvent = { type: 'status', status: {
      id: 'wamid.S', recipient_id: '1', status: 'sent', timestamp: '1700000000',
      conversation: { id: 'c', expiration_timestamp: '1700086400', origin: { type: 'service' } },
      pricing: { billable: true, pricing_model: 'CBP', category: 'service' },
    } }
    const voice = textEvent('wamid.V', '')
    voice.message = { from: '1', id: 'wamid.V', timestamp: '1', type: 'voice', voice: { id: 'media-1', mime_type: 'audio/ogg; codecs=opus', sha256: 'abc', file: '/usr/local/wamedia/x' }, identity: { hash: 'h' }, context: { from: '2', id: 'wamid.P', group_id: 'g', mentions: [] } }
    const system = textEvent('wamid.Y', '')
    system.message = { from: '1', id: 'wamid.Y', timestamp: '1', type: 'system', system: { body: 'User changed number', type: 'user_changed_number', new_wa_id: '2' } }
    const value = renderCloudWebhook([sent, voice, system], number).entry[0]?.changes[0]?.value
    expect(value?.statuses?.[0]?.conversation).toEqual({ id: 'c', expiration_timestamp: 1700086400, origin: { type: 'service' } })
    expect(value?.statuses?.[0]?.pricing).toEqual({ billable: true, pricing_model: 'CBP', category: 'service' })
    expect(value?.messages?.[0]).toEqual({
      from: '1', id: 'wamid.V', timestamp: '1', type: 'audio',
      audio: { id: 'media-1', mime_type: 'audio/ogg; codecs=opus', sha256: 'abc', voice: true },
      context: { from: '2', id: 'wamid.P' },
    })
    expect(value?.messages?.[1]?.system).toEqual({ body: 'User changed number', type: 'customer_changed_number', new_wa_id: '2', customer: '1' })
  })

  it('Cloud: an error-only callback goes to value.errors', () => {
    const value = renderCloudWebhook([{ type: 'error', errors: [{ code: 1014, title: 'Internal error', details: 'x' }] }], number).entry[0]?.changes[0]?.value
    expect(value?.errors).toEqual([{ code: 131000, title: 'Something went wrong', message: 'Something went wrong', error_data: { details: 'x' }, href: HREF }])
  })
})

describe('Cloud-hosted numbers (per-message pricing, entry id = WABA)', () => {
  const hosted = { ...number, wabaId: '102290129340398', perMessagePricing: true }
  const status = (category: string): StatusEvent => ({ type: 'status', status: {
    id: `wamid.${category}`, recipient_id: '16505551234', status: 'sent', timestamp: '1767225600',
    conversation: { id: 'c', expiration_timestamp: '1767312000', origin: { type: category } },
    pricing: { billable: true, pricing_model: 'CBP', category },
  } })

  it('statuses carry PMP pricing and no conversation: templates are regular and billable, free-form replies free', () => {
    const statuses = renderCloudWebhook(['marketing', 'utility', 'authentication', 'service'].map(status), hosted).entry[0]?.changes[0]?.value.statuses
    expect(statuses?.map((s) => s.pricing)).toEqual([
      { billable: true, pricing_model: 'PMP', category: 'marketing', type: 'regular' },
      { billable: true, pricing_model: 'PMP', category: 'utility', type: 'regular' },
      { billable: true, pricing_model: 'PMP', category: 'authentication', type: 'regular' },
      { billable: false, pricing_model: 'PMP', category: 'service', type: 'free_customer_service' },
    ])
    expect(statuses?.some((s) => 'conversation' in s)).toBe(false)
  })

  it('entry[].id is the WABA id; a failed status has errors and no pricing; biz_opaque_callback_data is echoed', () => {
    const failed = statusEvent('wamid.F', 'failed')
    failed.status.errors = [{ code: 470, title: 'Re-engagement message' }]
    failed.status.biz_opaque_callback_data = 'cart-7'
    const body = renderCloudWebhook([failed], hosted)
    expect(body.entry[0]?.id).toBe('102290129340398')
    expect(body.entry[0]?.changes[0]?.value.metadata.phone_number_id).toBe(number.id)
    expect(body.entry[0]?.changes[0]?.value.statuses?.[0]).toEqual({
      id: 'wamid.F', recipient_id: '16315551234', status: 'failed', timestamp: '1767225600', biz_opaque_callback_data: 'cart-7',
      errors: [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'Re-engagement message' }, href: HREF }],
    })
  })

  it('the platform decides the shape: CLOUD_API is always Cloud with PMP, ON_PREMISE follows its format setting', () => {
    const base = { id: number.id, waId: number.displayPhoneNumber, wabaId: '102290129340398' }
    expect(callbackShape({ ...base, platformType: 'CLOUD_API', format: 'onprem' })).toEqual({ format: 'cloud', number: { ...hosted } })
    expect(callbackShape({ ...base, platformType: 'ON_PREMISE', format: 'onprem' }).format).toBe('onprem')
    const onPremCloud = callbackShape({ ...base, wabaId: null, platformType: 'ON_PREMISE', format: 'cloud' })
    expect(onPremCloud).toEqual({ format: 'cloud', number: { ...number, wabaId: null, perMessagePricing: false } })
    // an On-Prem number keeps what its engine stored: conversation-based pricing, entry id = its own id
    const body = renderCloudWebhook([status('service')], onPremCloud.number)
    expect(body.entry[0]?.id).toBe(number.id)
    expect(body.entry[0]?.changes[0]?.value.statuses?.[0]?.pricing).toEqual({ billable: true, pricing_model: 'CBP', category: 'service' })
  })
})

describe('ASCII JSON and the signature', () => {
  it('escapes every non-ASCII character as lower-case \\uXXXX, astral ones as surrogate pairs', () => {
    const value = { t: 'café ☕ 😀 ü\u007f', n: 1 }
    const text = asciiJson(value)
    expect(text).toBe('{"t":"caf\\u00e9 \\u2615 \\ud83d\\ude00 \\u00fc\\u007f","n":1}')
    expect(JSON.parse(text)).toEqual(value)
  })

  it('renderPayload bytes are what is signed, and verifySignature checks them', () => {
    const body = renderPayload('onprem', [textEvent('m', 'Olá 👋')], number)
    expect([...body].every((b) => b < 0x80)).toBe(true)
    const header = signatureHeader(body, 'app-secret')
    expect(header).toBe('sha256=' + createHmac('sha256', 'app-secret').update(body).digest('hex'))
    expect(verifySignature(body, header, 'app-secret')).toBe(true)
    expect(verifySignature(body, header, 'other-secret')).toBe(false)
    expect(verifySignature(Buffer.concat([body, Buffer.from(' ')]), header, 'app-secret')).toBe(false)
    // a receiver that re-escapes the parsed text (whatsapp-api-js) gets the same bytes
    expect(asciiJson(JSON.parse(body.toString('ascii')))).toBe(body.toString('ascii'))
  })
})

describe('retry schedules', () => {
  const onPrem = withDefaults({ callback_backoff_delay_ms: 3000, max_callback_backoff_delay_ms: 900_000 })

  it('On-Prem: 3 s, 6 s, 9 s … capped at 15 min, forever while callback_persist is on', () => {
    expect([1, 2, 3, 299, 300, 301, 10_000].map((n) => linearDelay(n, 3000, 900_000))).toEqual([3000, 6000, 9000, 897_000, 900_000, 900_000, 900_000])
    expect(nextRetry({ settings: onPrem, attempts: 10_000, now: 1e13, since: 0 })).toEqual({ kind: 'retry', at: 1e13 + 900_000 })
  })

  it('On-Prem without callback_persist: dead-lettered after max_retry_ms instead of dropped', () => {
    const settings = withDefaults({ ...onPrem, callback_persist: false, webhooks: { ...DEFAULT_SETTINGS.webhooks, max_retry_ms: 60_000 } })
    expect(nextRetry({ settings, attempts: 1, now: 10_000, since: 0 })).toEqual({ kind: 'retry', at: 13_000 })
    expect(nextRetry({ settings, attempts: 9, now: 59_000, since: 0 })).toEqual({ kind: 'retry', at: 60_000 })
    expect(nextRetry({ settings, attempts: 10, now: 60_000, since: 0 })).toEqual({ kind: 'dead' })
  })

  it('Cloud: 1 s × 2^n capped at 1 h; dead after 7 days by default', () => {
    expect([1, 2, 3, 12, 13, 50].map((n) => exponentialDelay(n))).toEqual([1000, 2000, 4000, 2_048_000, 3_600_000, 3_600_000])
    const cloud = withDefaults({ webhooks: { ...DEFAULT_SETTINGS.webhooks, format: 'cloud' } })
    let now = 0
    let attempts = 0
    for (;;) {
      attempts++
      const next = nextRetry({ settings: cloud, attempts, now, since: 0 })
      if (next.kind === 'dead') break
      now = next.at
    }
    expect(now).toBe(7 * 86_400_000)
    // the first attempt, 12 growing delays (1 s … 2048 s, 4095 s in all), then hourly retries;
    // the last lands on the deadline and its failure dead-letters the callback
    expect(attempts).toBe(1 + 12 + Math.ceil((7 * 86_400_000 - 4_095_000) / 3_600_000))
  })
})

describe('webhook URL guard', () => {
  it('classifies addresses', () => {
    const cases: [string, string][] = [
      ['10.0.0.1', 'private'], ['172.31.255.255', 'private'], ['172.32.0.1', 'public'], ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'], ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['169.254.169.254', 'link-local'],
      ['0.0.0.0', 'unspecified'], ['224.0.0.1', 'multicast'], ['255.255.255.255', 'reserved'], ['8.8.8.8', 'public'],
      ['::1', 'loopback'], ['::', 'unspecified'], ['fe80::1%eth0', 'link-local'], ['fd00::1', 'private'], ['ff02::1', 'multicast'],
      ['::ffff:127.0.0.1', 'loopback'], ['::ffff:a9fe:a9fe', 'link-local'], ['64:ff9b::10.0.0.1', 'private'], ['2002:0a00:0001::', 'private'],
      ['2001:4860:4860::8888', 'public'], ['2001:db8::1', 'reserved'],
    ]
    for (const [address, kind] of cases) expect([address, classifyAddress(address)]).toEqual([address, kind])
  })

  it('requires https except to loopback in the dev profile, and takes Basic credentials out of the URL', () => {
    const strict = { allowInsecureLoopback: false, allowPrivateNetworks: false }
    const dev = { allowInsecureLoopback: true, allowPrivateNetworks: false }
    expect(() => parseWebhookUrl('http://hooks.example.com/x', strict)).toThrow(/HTTPS is required/)
    expect(() => parseWebhookUrl('ftp://hooks.example.com/x', strict)).toThrow(/only https/)
    expect(() => parseWebhookUrl('not a url', strict)).toThrow(/not a valid URL/)
    expect(() => parseWebhookUrl('http://8.8.8.8/x', dev)).toThrow(/8\.8\.8\.8 is not loopback/)
    expect(() => parseWebhookUrl('https://[::1]:8443/x', strict)).toThrow(/::1 is a loopback address/)
    expect(() => parseWebhookUrl('https://192.168.0.10/x', { ...strict, allowPrivateNetworks: true })).not.toThrow()
    expect(parseWebhookUrl('http://127.0.0.1:9/x', dev).insecure).toBe(true)
    const target = parseWebhookUrl('https://bob:p%40ss@hooks.example.com/x?y=1', strict)
    expect(target.url.toString()).toBe('https://hooks.example.com/x?y=1')
    expect(target.authorization).toBe('Basic ' + Buffer.from('bob:p@ss').toString('base64'))
  })
})
