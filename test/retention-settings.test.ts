import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDatabase } from './helpers/databases.js'
import { call, createWebTest, firstError, type WebTest } from './helpers/webapp.js'

describeEachDatabase('retention setting', (ctx) => {
  let t: WebTest
  beforeAll(async () => {
    t = await createWebTest(ctx())
  })
  afterAll(async () => t.close())
  const patch = (payload: object) => call(t.app, { bearer: t.admin }, { method: 'PATCH', url: '/v1/settings/application', payload })
  const shown = async () => (await call(t.app, { bearer: t.admin }, { method: 'GET', url: '/v1/settings/application' })).json().settings.application.retention_days as unknown

  it('an On-Premises number keeps content as long as it chooses; a Cloud-hosted one at most 30 days', async () => {
    expect((await patch({ retention_days: 90 })).statusCode).toBe(200)
    expect(await shown()).toBe(90)
    expect(firstError(await patch({ retention_days: 0 }))).toMatchObject({ code: 1009 })

    await ctx().store.ctx.db.updateTable('phone_numbers').set({ platform_type: 'CLOUD_API' }).where('id', '=', t.a.id).execute()
    const refused = await patch({ retention_days: 31 })
    expect(refused.statusCode).toBe(400)
    expect(firstError(refused)).toMatchObject({ code: 1009, details: expect.stringContaining('retention_days may be at most 30 for a Cloud-hosted number') })
    expect(await shown()).toBe(90)
    expect((await patch({ retention_days: 30 })).statusCode).toBe(200)
    expect(await shown()).toBe(30)
  })
})
