import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { INBOUND_RETENTION_MS } from '../src/coreapp/housekeeping.js'
import { messageId } from '../src/ids.js'
import { describeEachDatabase } from './helpers/databases.js'
import { housekeepingFixture } from './helpers/housekeeping.js'

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(64)])
const HOUR = 3600 * 1000

describeEachDatabase('coreapp housekeeping', (ctx) => {
  const fx = housekeepingFixture(ctx)
  let n = 0

  async function number(gc: boolean): Promise<string> {
    const id = `hk-${++n}`
    await ctx().store.numbers.create({ id, cc: '1', number: `555100${n}`, displayName: `Housekeeping ${n}` })
    if (gc) await ctx().store.numbers.saveSettings(id, { db_garbagecollector_enable: true })
    return id
  }

  const { receive, deliverCallbacks } = fx

  const exists = async (id: string) => (await ctx().store.ctx.db.selectFrom('messages').select('id').where('id', '=', id).executeTakeFirst()) !== undefined

  it('deletes expired bearer tokens and keeps valid ones', async () => {
    await ctx().store.users.create({ username: `hk-user-${++n}`, password: 'correct horse battery' })
    const old = await ctx().store.users.issueToken(`hk-user-${n}`)
    ctx().clock.setTime(old.expiresAt - HOUR)
    const fresh = await ctx().store.users.issueToken(`hk-user-${n}`)
    ctx().clock.setTime(old.expiresAt)
    expect((await fx.keeper().runOnce()).tokens).toBe(1)
    expect(await ctx().store.users.verifyToken(old.token)).toBeUndefined()
    expect(await ctx().store.users.verifyToken(fresh.token)).toMatchObject({ username: `hk-user-${n}` })
    expect((await fx.keeper().runOnce()).tokens).toBe(0)
  })

  it('deletes expired media, row and sealed file, in batches, and keeps the rest', async () => {
    const id = await number(false)
    const now = ctx().clock.now()
    const expiring = []
    for (let i = 0; i < 3; i++) expiring.push(await fx.media().put(PNG, { phoneNumberId: id, mimeType: 'image/png', expiresAt: now + HOUR }))
    const lasting = await fx.media().put(PNG, { phoneNumberId: id, mimeType: 'image/png', expiresAt: now + 30 * 24 * HOUR })
    const forever = await fx.media().put(PNG, { phoneNumberId: id, mimeType: 'image/png' })
    const fileOf = (mediaId: string) => path.join(fx.media().root, mediaId.slice(0, 2), mediaId)
    expect((await fx.keeper().runOnce()).media).toBe(0)

    ctx().clock.tick(HOUR)
    expect((await fx.keeper().runOnce()).media).toBe(3)
    for (const m of expiring) {
      expect(await fx.media().info(m.id)).toBeUndefined()
      expect(fs.existsSync(fileOf(m.id))).toBe(false)
    }
    for (const m of [lasting, forever]) {
      expect(await fx.media().read(m.id)).toEqual(PNG)
    }
  })

  it('deletes inbound messages older than 7 days only where the garbage collector is on', async () => {
    const gc = await number(true)
    const keep = await number(false)
    const old = [await receive(gc), await receive(gc), await receive(gc)]
    const oldElsewhere = await receive(keep)
    const outbound = messageId()
    await ctx().store.messages.insertOutbound([{ id: outbound, phoneNumberId: gc, to: '15552000', type: 'text', content: { to: '15552000', type: 'text', text: { body: 'queued' } }, shard: 0, expiresAt: null }])
    await deliverCallbacks(gc)
    await deliverCallbacks(keep)
    ctx().clock.tick(INBOUND_RETENTION_MS - HOUR)
    const recent = await receive(gc)
    await deliverCallbacks(gc)

    ctx().clock.tick(HOUR - 1)
    expect((await fx.keeper().runOnce()).inbound).toBe(0)
    ctx().clock.tick(2)
    expect((await fx.keeper().runOnce()).inbound).toBe(3)
    for (const id of old) expect(await exists(id)).toBe(false)
    expect(await ctx().store.inbound.envelopeOf(gc, old[0]!)).toBeUndefined()
    expect(await ctx().store.inbound.count(gc)).toBe(1)
    expect(await exists(recent)).toBe(true)
    expect(await exists(oldElsewhere)).toBe(true)
    // a queued outbound message is never the garbage collector's
    expect(await exists(outbound)).toBe(true)
  })

  it('keeps inbound messages while a callback of the number is still pending', async () => {
    const gc = await number(true)
    const delivered = await receive(gc)
    await deliverCallbacks(gc)
    ctx().clock.tick(HOUR)
    const undelivered = await receive(gc)
    ctx().clock.tick(HOUR)
    const later = await receive(gc)
    await ctx().store.ctx.db.updateTable('callbacks').set({ status: 'done' }).where('phone_number_id', '=', gc)
      .where('status', '=', 'pending').where('created_at', '>', ctx().clock.now() - HOUR / 2).execute()
    ctx().clock.tick(INBOUND_RETENTION_MS * 2)

    // (earlier tests' numbers share the database: count this number's messages only)
    await fx.keeper().runOnce()
    expect(await exists(delivered)).toBe(false)
    expect(await exists(undelivered)).toBe(true)
    expect(await exists(later)).toBe(true)

    await deliverCallbacks(gc)
    await fx.keeper().runOnce()
    expect(await ctx().store.inbound.count(gc)).toBe(0)
    expect(await exists(undelivered)).toBe(false)
  })
})
