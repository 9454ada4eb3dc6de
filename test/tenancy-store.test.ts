import { expect, it } from 'vitest'
import { describeEachDatabase } from './helpers/databases.js'
import { addNumber } from './helpers/webapp.js'

const HOUR = 3_600_000

describeEachDatabase('tenancy store', (db) => {
  it('a partner key pair works; a rotated-out secret works until its grace ends; a revoked key at once stops', async () => {
    const { store, clock } = db()
    const partner = await store.partners.create('BSP')
    const pair = await store.partners.createKey(partner.id, 'ci')
    expect(await store.partners.verify(pair.keyId, pair.secret)).toEqual({ partnerId: partner.id, keyId: pair.keyId })
    expect(await store.partners.verify(pair.keyId, 'sk_wrong')).toBeUndefined()

    const rotated = await store.partners.rotateKey(partner.id, pair.keyId, HOUR)
    expect(rotated?.keyId).toBe(pair.keyId)
    expect(await store.partners.verify(pair.keyId, pair.secret)).toBeDefined()
    expect(await store.partners.verify(pair.keyId, rotated!.secret)).toBeDefined()
    clock.tick(HOUR)
    expect(await store.partners.verify(pair.keyId, pair.secret)).toBeUndefined()
    expect(await store.partners.verify(pair.keyId, rotated!.secret)).toBeDefined()

    const other = await store.partners.create('Other BSP')
    expect(await store.partners.rotateKey(other.id, pair.keyId, HOUR)).toBeUndefined()
    expect(await store.partners.revokeKey(other.id, pair.keyId)).toBe(false)
    expect(await store.partners.revokeKey(partner.id, pair.keyId)).toBe(true)
    expect(await store.partners.verify(pair.keyId, rotated!.secret)).toBeUndefined()
    expect((await store.partners.listKeys(partner.id)).map((k) => k.keyId)).toEqual([pair.keyId, pair.keyId])
  })

  it('clients, WABAs and channels are found only through their own partner', async () => {
    const { store } = db()
    const [p1, p2] = [await store.partners.create('one'), await store.partners.create('two')]
    const c1 = await store.clients.create(p1.id, 'Shop one', { requestsPerSecond: 5, burst: 10 })
    const c2 = await store.clients.create(p2.id, 'Shop two')
    const w1 = await store.clients.createWaba(p1.id, c1.id, 'WABA one', 'eu')
    expect(await store.clients.createWaba(p2.id, c1.id, 'stolen')).toBeUndefined()
    const n1 = await addNumber(store, '9100001', '1', '5550001')
    await store.numbers.setHosting(n1.id, { wabaId: w1!.id })

    expect(await store.clients.get(p2.id, c1.id)).toBeUndefined()
    expect(await store.clients.update(p2.id, c1.id, { status: 'suspended' })).toBeUndefined()
    expect((await store.clients.list(p2.id)).map((c) => c.id)).toEqual([c2.id])
    expect(await store.clients.wabas(p2.id)).toEqual([])
    expect((await store.clients.wabas(p1.id)).map((w) => [w.id, w.dataLocalizationRegion])).toEqual([[w1!.id, 'eu']])
    expect(await store.channels.get(p2.id, n1.id)).toBeUndefined()
    expect(await store.channels.list(p2.id)).toEqual([])
    expect(await store.channels.get(p1.id, n1.id)).toMatchObject({ id: n1.id, wabaId: w1!.id, clientId: c1.id, status: 'registered' })

    expect(await store.clients.ofNumber(n1.id)).toEqual({ clientId: c1.id, status: 'active', limits: { requestsPerSecond: 5, burst: 10 } })
    await store.clients.update(p1.id, c1.id, { status: 'suspended' })
    expect(await store.clients.ofWaba(w1!.id)).toMatchObject({ clientId: c1.id, status: 'suspended' })
  })

  it('a channel API key ended at a later time keeps working until then', async () => {
    const { store, clock } = db()
    const n = await addNumber(store, '9100002', '1', '5550002')
    const key = await store.apiKeys.create(n.id, 'd360', 'old')
    const [listed] = await store.channels.apiKeys(n.id)
    expect(await store.channels.endApiKey(n.id, listed!.id, clock.now() + 1000)).toEqual({ scope: 'd360', label: 'old' })
    expect(await store.apiKeys.verify(key)).toBeDefined()
    // still in its grace period: a later end does not extend it
    expect(await store.channels.endApiKey(n.id, listed!.id, clock.now() + 5000)).toBeDefined()
    clock.tick(1000)
    expect(await store.apiKeys.verify(key)).toBeUndefined()
    expect(await store.channels.endApiKey(n.id, '%', clock.now())).toBeUndefined()
    expect(await store.channels.endApiKey(n.id, listed!.id, clock.now())).toBeUndefined()

    const rotated = await store.apiKeys.create(n.id, 'd360', 'rotated')
    const [, second] = await store.channels.apiKeys(n.id)
    await store.channels.endApiKey(n.id, second!.id, clock.now() + 60_000)
    expect(await store.apiKeys.revoke(rotated)).toBe(true)
    expect(await store.apiKeys.verify(rotated)).toBeUndefined()
  })

  it('the audit log reads back by partner and filter, oldest first', async () => {
    const { store, clock } = db()
    const p = await store.partners.create('audited')
    await store.audit.append({ partnerId: p.id, credentialId: 'pk_1', action: 'client.create', objectType: 'client', objectId: 'cl_1', sourceIp: '127.0.0.1', detail: { name: 'x' } })
    clock.tick(5)
    await store.audit.append({ partnerId: p.id, clientId: 'cl_1', credentialId: 'pk_1', action: 'client.suspend', objectType: 'client', objectId: 'cl_1' })
    await store.audit.append({ partnerId: 'someone-else', credentialId: 'pk_2', action: 'client.create', objectType: 'client', objectId: 'cl_2' })
    const all = await store.audit.list(p.id, { limit: 10 })
    expect(all.map((e) => e.action)).toEqual(['client.create', 'client.suspend'])
    expect(all[0]).toMatchObject({ credentialId: 'pk_1', sourceIp: '127.0.0.1', detail: { name: 'x' } })
    expect((await store.audit.list(p.id, { action: 'client.suspend', limit: 10 })).map((e) => e.objectId)).toEqual(['cl_1'])
    expect(await store.audit.list(p.id, { after: all[1]!.seq, limit: 10 })).toEqual([])
  })
})
