import { Client as GreatDetailClient } from '@great-detail/whatsapp'
import { WhatsAppClient as KapsoClient } from '@kapso/whatsapp-cloud-api'
import { verifySignature as kapsoVerifySignature } from '@kapso/whatsapp-cloud-api/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WhatsAppAPI } from 'whatsapp-api-js'
import { BodyComponent, BodyParameter, Image, Language, Template, Text } from 'whatsapp-api-js/messages'
import { CloudWorld, PNG } from './helpers/cloud-world.js'
import { eventually } from './helpers/wabox-process.js'

/**
 * Three Cloud API SDKs from npm, unmodified, against a running `wabox start` over HTTP: each only
 * pointed at wabox's base URL the way its documentation allows. What an SDK has no call for is
 * said in its driver, and not tested.
 */

const world = new CloudWorld()
beforeAll(() => world.start(), 60_000)
afterAll(() => world.close())

/** The demo template every `wabox start` creates: `Hello {{1}}, welcome to wabox!`. */
const WELCOME = { name: 'hello_world', language: 'en_US', parameter: 'Ann', body: 'Hello Ann, welcome to wabox!' }

/** One SDK's calls, in the test's terms. */
interface Driver {
  sendText(to: string, body: string): Promise<string>
  /** An image by uploaded media id, or by link. */
  sendImage(to: string, image: { id: string } | { link: string }): Promise<string>
  sendWelcome(to: string): Promise<string>
  upload(bytes: Buffer, mimeType: string): Promise<string>
  /** The media's download URL (GET /{media_id}). */
  mediaUrl(id: string): Promise<string>
  /** The media's bytes through the SDK's own download helper. */
  download(id: string, url: string): Promise<Buffer>
  /** Deletes the media; true on `{success: true}`. */
  deleteMedia(id: string): Promise<boolean>
  /** GET /{media_id} after the media is gone: the Graph error the SDK surfaces. */
  mediaGone(id: string): Promise<{ code: number }>
  markRead(id: string, typing: boolean): Promise<boolean>
  /** Whether the SDK's helper accepts a webhook's raw body with its `X-Hub-Signature-256`. */
  verifies(raw: Buffer, signature: string): Promise<boolean>
}

const wamidOf = (answer: unknown): string => {
  const id = (answer as { messages?: { id: string }[] }).messages?.[0]?.id
  if (!id) throw new Error(`not a send answer: ${JSON.stringify(answer)}`)
  return id
}

/** whatsapp-api-js: no base URL option; a fetch ponyfill rewrites Graph's host to wabox's. */
function whatsappApiJs(): Driver {
  const { cloud } = world
  const sdk = new WhatsAppAPI({
    token: cloud.access_token,
    appSecret: cloud.app_secret,
    v: cloud.api_version,
    ponyfill: { fetch: (url, init) => fetch(String(url).replace('https://graph.facebook.com', cloud.base_url), init) },
  })
  const phone = cloud.phone_number_id
  return {
    sendText: async (to, body) => wamidOf(await sdk.sendMessage(phone, to, new Text(body))),
    sendImage: async (to, image) => wamidOf(await sdk.sendMessage(phone, to, 'id' in image ? new Image(image.id, true) : new Image(image.link, false))),
    sendWelcome: async (to) => wamidOf(await sdk.sendMessage(phone, to,
      new Template(WELCOME.name, new Language(WELCOME.language), new BodyComponent(new BodyParameter(WELCOME.parameter))))),
    upload: async (bytes, mimeType) => {
      const form = new FormData()
      form.append('file', new Blob([bytes], { type: mimeType }), 'pic.png')
      return ((await sdk.uploadMedia(phone, form)) as { id: string }).id
    },
    mediaUrl: async (id) => ((await sdk.retrieveMedia(id, phone)) as { url: string }).url,
    download: async (_id, url) => Buffer.from(await (await sdk.fetchMedia(url)).arrayBuffer()),
    deleteMedia: async (id) => ((await sdk.deleteMedia(id, phone)) as { success?: boolean }).success === true,
    // getBody parses whatever comes back: an error is the Graph envelope itself
    mediaGone: async (id) => ((await sdk.retrieveMedia(id, phone)) as unknown as { error: { code: number } }).error,
    markRead: async (id, typing) => ((await sdk.markAsRead(phone, id, typing ? 'text' : undefined)) as { success?: boolean }).success === true,
    verifies: async (raw, signature) => {
      let seen: string | undefined
      sdk.on.message = ({ message }) => void (seen = message.id)
      sdk.on.status = ({ id }) => void (seen = id)
      try {
        await sdk.post(JSON.parse(raw.toString('utf8')) as never, raw.toString('utf8'), signature)
      } catch {
        return false
      }
      return seen !== undefined
    },
    // no call to configure webhooks (app subscriptions, subscribed_apps or a phone override)
  }
}

/** @great-detail/whatsapp: `prefixUrl` and ky request options (the token). */
function greatDetail(): Driver & { sdk: GreatDetailClient; auth: { headers: Record<string, string> } } {
  const { cloud } = world
  const auth = { headers: { authorization: `Bearer ${cloud.access_token}` } }
  const sdk = new GreatDetailClient({ prefixUrl: cloud.base_url, graphVersion: cloud.api_version, request: auth })
  const phoneNumberID = cloud.phone_number_id
  const json = async <T>(res: { json: <J>() => Promise<J> }): Promise<T> => res.json<T>()
  const send = async (to: string, message: object) => wamidOf(await json(sdk.message.createMessage({ phoneNumberID, to, ...message } as never)))
  return {
    sdk,
    auth,
    sendText: (to, body) => send(to, { type: 'text', text: { body } }),
    sendImage: (to, image) => send(to, { type: 'image', image }),
    sendWelcome: (to) => send(to, {
      type: 'template',
      template: { name: WELCOME.name, language: { code: WELCOME.language }, components: [{ type: 'body', parameters: [{ type: 'text', text: WELCOME.parameter }] }] },
    }),
    upload: async (bytes, mimeType) =>
      (await json<{ id: string }>(sdk.media.upload({ phoneNumberID, file: new Blob([bytes], { type: mimeType }), filename: 'pic.png', mimeType } as never))).id,
    mediaUrl: async (id) => (await json<{ url: string }>(sdk.media.getURL({ mediaID: id, phoneNumberID }))).url,
    // download is a bare ky call (Host: lookaside.fbsbx.com): the token goes in its request options
    download: async (_id, url) => Buffer.from(await sdk.media.download({ mediaURL: url, request: auth }).arrayBuffer()),
    deleteMedia: async (id) => (await json<{ success?: boolean }>(sdk.media.delete({ mediaID: id, phoneNumberID }))).success === true,
    mediaGone: async (id) => {
      const err = await sdk.media.getURL({ mediaID: id, phoneNumberID }).then(() => undefined, (e: { response: Response }) => e)
      if (!err) throw new Error('the deleted media was still found')
      return ((await err.response.json()) as { error: { code: number } }).error
    },
    markRead: async (id, typing) => (await json<{ success?: boolean }>(sdk.message.createStatus({
      phoneNumberID, status: 'read', message_id: id, ...(typing ? { typing_indicator: { type: 'text' } } : {}),
    } as never))).success === true,
    verifies: async (raw, signature) => {
      const note = await sdk.webhook.eventNotification({ method: 'POST', headers: { 'x-hub-signature-256': signature }, body: raw.toString('utf8') } as never)
      return note.checkSignature(world.cloud.app_secret)
    },
  }
}

/** @kapso/whatsapp-cloud-api: `baseUrl`. */
function kapso(): Driver {
  const { cloud } = world
  const sdk = new KapsoClient({ accessToken: cloud.access_token, baseUrl: cloud.base_url, graphVersion: cloud.api_version })
  const phoneNumberId = cloud.phone_number_id
  return {
    sendText: async (to, body) => wamidOf(await sdk.messages.sendText({ phoneNumberId, to, body })),
    sendImage: async (to, image) => wamidOf(await sdk.messages.sendImage({ phoneNumberId, to, image })),
    sendWelcome: async (to) => wamidOf(await sdk.messages.sendTemplate({
      phoneNumberId, to,
      template: { name: WELCOME.name, language: { code: WELCOME.language }, components: [{ type: 'body', parameters: [{ type: 'text', text: WELCOME.parameter }] }] },
    })),
    upload: async (bytes, mimeType) => (await sdk.media.upload({ phoneNumberId, type: mimeType, file: new Blob([bytes], { type: mimeType }), fileName: 'pic.png' })).id,
    mediaUrl: async (id) => (await sdk.media.get({ mediaId: id, phoneNumberId })).url,
    // wabox's URL needs the token, as Meta's does: `auth: 'always'` sends it (auto sends it only to kapso.ai)
    download: async (id) => Buffer.from(await sdk.media.download({ mediaId: id, phoneNumberId, auth: 'always' }) as ArrayBuffer),
    deleteMedia: async (id) => (await sdk.media.delete({ mediaId: id, phoneNumberId })).success === true,
    mediaGone: async (id) => {
      const err = await sdk.media.get({ mediaId: id, phoneNumberId }).then(() => undefined, (e: { code: number }) => e)
      if (!err) throw new Error('the deleted media was still found')
      return err
    },
    markRead: async (id, typing) => (await sdk.messages.markRead({ phoneNumberId, messageId: id, ...(typing ? { typingIndicator: { type: 'text' } } : {}) })).success === true,
    verifies: async (raw, signature) => kapsoVerifySignature({ appSecret: world.cloud.app_secret, rawBody: raw, signatureHeader: signature }),
    // no call to configure webhooks (app subscriptions, subscribed_apps or a phone override)
  }
}

function sdkSuite(name: string, makeDriver: () => Driver, imageBy: 'id' | 'link', phoneIndex: number): void {
  describe(name, () => {
    let sdk: Driver
    let phone: string
    beforeAll(() => {
      sdk = makeDriver()
      phone = world.phones[phoneIndex]!
    })

    it('sends a text, an image and the welcome template: 200 with a wamid, and the phone receives each', async () => {
      const text = await sdk.sendText(phone, `Hello from ${name}`)
      const image = imageBy === 'id'
        ? await sdk.sendImage(phone, { id: await sdk.upload(PNG, 'image/png') })
        : await sdk.sendImage(phone, { link: world.fileUrl('pic.png') })
      const template = await sdk.sendWelcome(phone)
      for (const id of [text, image, template]) expect(id).toMatch(/^wamid\./)
      expect((await world.received(phone, text)).content.text?.body).toBe(`Hello from ${name}`)
      const picture = await world.received(phone, image)
      expect(picture.content.type).toBe('image')
      expect(picture.mediaFile).toEqual(expect.any(String))
      expect((await world.received(phone, template)).content).toMatchObject({ type: 'template', template: { name: WELCOME.name, body: WELCOME.body } })
    }, 30_000)

    it('uploads media, gets its URL, downloads the same bytes with its own helper, deletes it', async () => {
      const id = await sdk.upload(PNG, 'image/png')
      const url = await sdk.mediaUrl(id)
      expect(url.startsWith(world.cloud.base_url)).toBe(true)
      expect((await sdk.download(id, url)).equals(PNG)).toBe(true)
      expect(await sdk.deleteMedia(id)).toBe(true)
      expect((await sdk.mediaGone(id)).code).toBe(100)
    })

    it('marks an inbound message read with the typing indicator: the phone sees the receipt and the business typing', async () => {
      const id = await world.inbound(phone, `question for ${name}`)
      expect(await sdk.markRead(id, true)).toBe(true)
      await world.readByBusiness(phone, id)
      // the typing frame travels apart from the receipt
      await eventually(async () => ((await world.typingTo(phone)).includes(world.business) ? true : undefined))
    }, 30_000)

    it("verifies wabox's signed webhooks with its own signature helper, and refuses a tampered body", async () => {
      const id = await world.inbound(phone, `signed for ${name}`)
      const post = await world.webhookWith(id)
      const signature = post.headers['x-hub-signature-256'] as string
      expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/)
      expect(await sdk.verifies(post.raw, signature)).toBe(true)
      const tampered = Buffer.from(post.raw.toString('utf8').replace('signed for', 'signed f0r'))
      expect(tampered.equals(post.raw)).toBe(false)
      expect(await sdk.verifies(tampered, signature)).toBe(false)
    }, 30_000)
  })
}

sdkSuite('whatsapp-api-js 6.2 (fetch ponyfill)', whatsappApiJs, 'id', 0)
sdkSuite('@great-detail/whatsapp 8.4 (prefixUrl)', greatDetail, 'id', 1)
sdkSuite('@kapso/whatsapp-cloud-api 0.3 (baseUrl)', kapso, 'link', 0)

describe('@great-detail/whatsapp configures the webhook', () => {
  it("subscribes the app to the WABA with an override URL: wabox runs the GET handshake, then the WABA's webhooks go there", async () => {
    const { sdk } = greatDetail()
    const { cloud } = world
    const created = await sdk.subscribedApps.createSubscription({
      businessAccountID: cloud.waba_id, override_callback_uri: world.receiver.url('/waba'), verify_token: cloud.verify_token,
    } as never).json()
    expect(created).toEqual({ success: true })
    expect(world.receiver.handshakesTo('/waba')).toEqual([expect.objectContaining({ mode: 'subscribe', verifyToken: cloud.verify_token })])
    const listed = await sdk.subscribedApps.listSubscriptions({ businessAccountID: cloud.waba_id }).json()
    expect(listed).toEqual({ data: [expect.objectContaining({ override_callback_uri: world.receiver.url('/waba') })] })
    // the dispatcher re-reads its routes when the API changes them: the very next message goes there
    const delivered = await world.webhookWith(await world.inbound(world.phones[1]!, 'to the override'))
    expect(delivered.path).toBe('/waba')
  }, 30_000)
  // @great-detail has no call for app subscriptions (/{app_id}/subscriptions) nor a phone number's webhook_configuration
})

describe('360dialog waba-v2 with plain fetch', () => {
  /** A waba-v2 call with the Cloud number's D360-API-KEY: root paths, Meta's bodies. */
  const d360 = async (method: string, path: string, body?: object | FormData): Promise<{ status: number; json: Record<string, unknown> }> => {
    const key = world.wabox.creds.numbers.find((n) => n.platform_type === 'CLOUD_API')!.api_key
    const json = body !== undefined && !(body instanceof FormData)
    const res = await fetch(path.startsWith('http') ? path : `${world.wabox.creds.api_url}${path}`, {
      method, headers: { 'd360-api-key': key, ...(json ? { 'content-type': 'application/json' } : {}) },
      ...(body === undefined ? {} : { body: json ? JSON.stringify(body) : body as FormData }),
    })
    return { status: res.status, json: (res.headers.get('content-type') ?? '').startsWith('application/json') ? await res.json() as Record<string, unknown> : { bytes: Buffer.from(await res.arrayBuffer()) } }
  }

  it('sends a text the phone receives, and marks an inbound message read with the typing indicator', async () => {
    const phone = world.phones[1]!
    const sent = await d360('POST', '/messages', { messaging_product: 'whatsapp', to: phone, type: 'text', text: { body: 'Hello over waba-v2' } })
    expect(sent.status, JSON.stringify(sent.json)).toBe(200)
    const id = wamidOf(sent.json)
    expect((await world.received(phone, id)).content.text?.body).toBe('Hello over waba-v2')

    const inbound = await world.inbound(phone, 'question over waba-v2')
    const read = await d360('POST', '/messages', { messaging_product: 'whatsapp', status: 'read', message_id: inbound, typing_indicator: { type: 'text' } })
    expect(read).toEqual({ status: 200, json: { success: true } })
    await world.readByBusiness(phone, inbound)
  }, 30_000)

  it('uploads media, gets its URL, downloads the same bytes with the key, deletes it', async () => {
    const form = new FormData()
    form.append('messaging_product', 'whatsapp')
    form.append('type', 'image/png')
    form.append('file', new Blob([PNG], { type: 'image/png' }), 'pic.png')
    const { id } = (await d360('POST', '/media', form)).json as { id: string }
    const { url } = (await d360('GET', `/${id}`)).json as { url: string }
    const file = await d360('GET', url)
    expect(file.json.bytes, JSON.stringify(file)).toEqual(PNG)
    expect(await d360('DELETE', `/${id}`)).toEqual({ status: 200, json: { success: true } })
    const gone = await d360('GET', `/${id}`)
    expect(gone.status).toBe(400)
    expect(gone.json).toMatchObject({ error: { code: 100 } })
  })
})

describe('@kapso/whatsapp-cloud-api manages the number', () => {
  it('changes and reads the business profile, deregisters (sends refused with 133010), verifies and registers again with a PIN', async () => {
    const { cloud } = world
    const sdk = new KapsoClient({ accessToken: cloud.access_token, baseUrl: cloud.base_url, graphVersion: cloud.api_version })
    const phoneNumberId = cloud.phone_number_id
    expect(await sdk.phoneNumbers.businessProfile.update({ phoneNumberId, about: 'Open all night', vertical: 'RETAIL', websites: ['https://shop.example.com'] }))
      .toEqual({ success: true })
    const profile = await sdk.phoneNumbers.businessProfile.get({ phoneNumberId, fields: 'about,vertical,websites' })
    expect(profile).toMatchObject({ data: [{ about: 'Open all night', vertical: 'RETAIL', websites: ['https://shop.example.com'] }] })

    expect(await sdk.phoneNumbers.deregister({ phoneNumberId })).toEqual({ success: true })
    const refused = await sdk.messages.sendText({ phoneNumberId, to: world.phones[0]!, body: 'not now' }).then(() => undefined, (e: { code: number }) => e)
    expect(refused).toMatchObject({ code: 133010 })
    // the number is verified already: both answer success, as Meta's do
    expect(await sdk.phoneNumbers.requestCode({ phoneNumberId, codeMethod: 'SMS', language: 'en_US' })).toEqual({ success: true })
    expect(await sdk.phoneNumbers.verifyCode({ phoneNumberId, code: '000000' })).toEqual({ success: true })
    expect(await sdk.phoneNumbers.register({ phoneNumberId, pin: '135790' })).toEqual({ success: true })
    const id = wamidOf(await sdk.messages.sendText({ phoneNumberId, to: world.phones[0]!, body: 'back again' }))
    expect((await world.received(world.phones[0]!, id)).content.text?.body).toBe('back again')
  }, 30_000)
  // whatsapp-api-js and @great-detail/whatsapp have no registration calls; @great-detail's business profile calls go the same path
})
