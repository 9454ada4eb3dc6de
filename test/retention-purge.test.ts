import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { messageId } from '../src/ids.js'
import { PURGED_CONTENT } from '../src/store/retention.js'
import { describeEachDatabase } from './helpers/databases.js'
import { housekeepingFixture } from './helpers/housekeeping.js'

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(64)])
const DAY = 24 * 3600 * 1000

describeEachDatabase('retention purge', (ctx) => {
  const fx = housekeepingFixture(ctx)
  let n = 0

  async function number(retentionDays?: number): Promise<string> {
    const id = `rt-${++n}`
    await ctx().store.numbers.create({ id, cc: '1', number: `555300${n}`, displayName: `Retention ${n}` })
    if (retentionDays !== undefined) await ctx().store.numbers.saveSettings(id, { retention_days: retentionDays })
    return id
  }

  const { receive, deliverCallbacks } = fx

  async function send(phoneNumberId: string, body: string, status: string): Promise<string> {
    const id = messageId()
    await ctx().store.messages.insertOutbound([{
      id, phoneNumberId, to: '15552000', type: 'text', shard: 0, expiresAt: null, category: 'utility',
      content: { to: '15552000', type: 'text', text: { body }, biz_opaque_callback_data: 'order-7' },
    }])
    await ctx().store.ctx.db.updateTable('messages').set({ status }).where('id', '=', id).execute()
    return id
  }

  async function message(id: string) {
    const row = await ctx().store.messages.get(id)
    if (!row) throw new Error(`message ${id} is gone`)
    return { status: row.status, category: row.category, createdAt: row.created_at, callbackData: row.callback_data, content: ctx().store.messages.content<unknown>(row) }
  }

  const callbacks = (phoneNumberId: string) => ctx().store.ctx.db.selectFrom('callbacks').select(['seq', 'status'])
    .where('phone_number_id', '=', phoneNumberId).orderBy('seq').execute()
  const fileOf = (mediaId: string) => path.join(fx.media().root, mediaId.slice(0, 2), mediaId)

  it('purges content, media and delivered callbacks past 30 days, keeps metadata, newer data and anything pending', async () => {
    const id = await number()
    const oldIn = await receive(id, 'old inbound')
    const oldOut = await send(id, 'old outbound', 'read')
    const queued = await send(id, 'still queued', 'queued')
    const oldMedia = await fx.media().put(PNG, { phoneNumberId: id, mimeType: 'image/png', direction: 'in' })
    const photo = await fx.media().put(PNG, { phoneNumberId: id, mimeType: 'image/png', direction: 'profile' })
    await deliverCallbacks(id)
    const undelivered = await receive(id, 'old, callback never delivered')
    const [deliveredCallback, pendingCallback] = await callbacks(id)

    ctx().clock.tick(29 * DAY)
    const newIn = await receive(id, 'new inbound')
    const newMedia = await fx.media().put(PNG, { phoneNumberId: id, mimeType: 'image/png', direction: 'in' })
    await deliverCallbacks(id)
    const [, , newCallback] = await callbacks(id)

    // day 30 exactly: nothing is older than the retention yet
    ctx().clock.tick(DAY - 1)
    expect(await fx.keeper().runOnce()).toMatchObject({ content: 0, media: 0, callbacks: 0 })
    ctx().clock.tick(2)
    // the pending callback was delivered meanwhile (day 29): only the first goes
    const report = await fx.keeper().runOnce()
    expect(report).toMatchObject({ content: 3, media: 1, callbacks: 1 })

    for (const gone of [oldIn, oldOut, undelivered]) expect((await message(gone)).content).toEqual(PURGED_CONTENT)
    // metadata for billing and audit stays
    expect(await message(oldOut)).toMatchObject({ status: 'read', category: 'utility', callbackData: null })
    expect(await message(oldIn)).toMatchObject({ status: 'received' })
    expect((await message(queued)).content).toMatchObject({ text: { body: 'still queued' } })
    expect((await message(newIn)).content).toMatchObject({ text: { body: 'new inbound' } })
    expect(await fx.media().info(oldMedia.id)).toBeUndefined()
    expect(fs.existsSync(fileOf(oldMedia.id))).toBe(false)
    expect(await fx.media().read(newMedia.id)).toEqual(PNG)
    expect(await fx.media().read(photo.id)).toEqual(PNG)
    const left = (await callbacks(id)).map((c) => c.seq)
    expect(left).not.toContain(deliveredCallback!.seq)
    expect(left).toEqual([pendingCallback!.seq, newCallback!.seq])

    // a second pass finds nothing new; the queued message keeps its content until it is sent
    expect(await fx.keeper().runOnce()).toMatchObject({ content: 0, media: 0, callbacks: 0 })
    ctx().clock.tick(DAY)
    await ctx().store.ctx.db.updateTable('messages').set({ status: 'sent', updated_at: ctx().clock.now() }).where('id', '=', queued).execute()
    expect((await fx.keeper().runOnce()).content).toBe(1)
    expect((await message(queued)).content).toEqual(PURGED_CONTENT)
  })

  it('never purges a callback still waiting for delivery, however old', async () => {
    const id = await number(1)
    const inbound = await receive(id, 'waiting')
    ctx().clock.tick(10 * DAY)
    await fx.keeper().runOnce()
    expect(await callbacks(id)).toMatchObject([{ status: 'pending' }])
    expect((await message(inbound)).content).toEqual(PURGED_CONTENT)
  })

  it("follows the number's retention_days", async () => {
    const short = await number(2)
    const long = await number(60)
    const a = await receive(short, 'two days')
    const b = await receive(long, 'sixty days')
    await deliverCallbacks(short)
    await deliverCallbacks(long)
    ctx().clock.tick(3 * DAY)
    await fx.keeper().runOnce()
    expect((await message(a)).content).toEqual(PURGED_CONTENT)
    expect((await message(b)).content).toMatchObject({ text: { body: 'sixty days' } })
    ctx().clock.tick(58 * DAY)
    await fx.keeper().runOnce()
    expect((await message(b)).content).toEqual(PURGED_CONTENT)
  })
})
