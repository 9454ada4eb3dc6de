import { afterEach, describe, expect, it } from 'vitest'
import type { TypingPush, TypingSendResult } from '../src/wire/frames.js'
import { Harness, nextEvent } from './network-harness.js'

let h: Harness
afterEach(async () => h?.close())

describe('network typing indicator', () => {
  it('pushes typing.send to the addressee online now, stores nothing for one offline, and drops it for one who blocked the business', async () => {
    h = await Harness.start()
    const business = await h.register('1', '5550600', 'Typing Co')
    const user = await h.register('1', '5550601')
    const biz = await h.connect(business)

    // offline: nothing to show, nothing kept for later
    expect(await biz.request<TypingSendResult>({ t: 'typing.send', to: user.waId })).toEqual({ delivered: false })
    const phone = await h.connect(user)
    const pushed = nextEvent<TypingPush>(phone, 'typing')
    h.clock.tick(5)
    expect(await biz.request<TypingSendResult>({ t: 'typing.send', to: user.waId })).toEqual({ delivered: true })
    expect(await pushed).toMatchObject({ t: 'typing', from: business.waId, timestamp: h.clock.now() })

    await phone.request({ t: 'feedback', waId: business.waId, kind: 'block' })
    expect(await biz.request<TypingSendResult>({ t: 'typing.send', to: user.waId })).toEqual({ delivered: false })

    await expect(biz.request({ t: 'typing.send', to: '19999999999' })).rejects.toMatchObject({ code: 'not_registered' })
  })
})
