import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openStoreFromConfig } from '../src/cli/open-store.js'
import { resolveConfig } from '../src/config/config.js'
import { messageId } from '../src/ids.js'
import { isContentReference } from '../src/store/regions.js'

describe('--region', () => {
  it('reads regions from flags or WABOX_REGIONS: names upper-case, URL or directory, a media root each', () => {
    const config = resolveConfig({ WABOX_DATA_DIR: '/srv/wabox', WABOX_REGIONS: 'de=/srv/de,eu=postgres://u:p@db.eu/wabox?options=-c%20search_path=eu,br=mysql://root@db.br/wabox' })
    expect(config.regions).toEqual([
      { name: 'DE', url: undefined, sqlitePath: '/srv/de/region.db', mediaRoot: '/srv/de/media' },
      { name: 'EU', url: 'postgres://u:p@db.eu/wabox?options=-c%20search_path=eu', sqlitePath: undefined, mediaRoot: '/srv/wabox/regions/EU/media' },
      { name: 'BR', url: 'mysql://root@db.br/wabox', sqlitePath: undefined, mediaRoot: '/srv/wabox/regions/BR/media' },
    ])
    const flags = resolveConfig({ WABOX_REGIONS: 'xx=/nowhere' }, { dataDir: '/d' }, { regions: ['IN=postgres://db/in'], regionMedia: ['in=/mnt/in-media'] })
    expect(flags.regions).toEqual([{ name: 'IN', url: 'postgres://db/in', sqlitePath: undefined, mediaRoot: '/mnt/in-media' }])
    expect(resolveConfig({}).regions).toEqual([])
  })

  it('refuses a bad name, another URL scheme, a region given twice and media for no region, naming the source', () => {
    const bad = (env: Record<string, string>, lists = {}) => () => resolveConfig(env, {}, lists)
    expect(bad({ WABOX_REGIONS: 'europe west=/x' })).toThrow(/Invalid WABOX_REGIONS="europe west=\/x": must be NAME=LOCATION/)
    expect(bad({}, { regions: ['eu=redis://u:secret@h/0'] })).toThrow(/Invalid --region="eu=redis:\/\/<redacted>@h\/0": must be NAME=LOCATION.*postgres:\/\/, mysql:\/\/ URL or a directory/)
    expect(bad({}, { regions: ['eu=/a', 'EU=/b'] })).toThrow('Invalid --region: region EU is given twice')
    expect(bad({ WABOX_REGION_MEDIA: 'de=/m' })).toThrow('Invalid WABOX_REGION_MEDIA: region DE is not configured (add --region DE=LOCATION)')
  })
})

describe('startup with regions', () => {
  it('opens the configured regions with the store; a WABA in a region no longer configured stops the start, naming the WABA and the flag', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-regions-start-'))
    try {
      const withRegion = resolveConfig({ WABOX_DATA_DIR: dir, WABOX_REGIONS: `de=${path.join(dir, 'de')}` })
      const opened = await openStoreFromConfig(withRegion)
      let wabaId: string
      try {
        const { store } = opened
        expect(store.ctx.regions?.names).toEqual(['DE'])
        const partner = await store.partners.create('BSP')
        const client = await store.clients.create(partner.id, 'Shop')
        wabaId = (await store.clients.createWaba(partner.id, client.id, 'W', 'DE'))!.id
        await store.numbers.create({ id: '7200001', cc: '49', number: '7200001', displayName: 'Laden', wabaId })
        const id = messageId()
        await store.messages.insertOutbound([{ id, phoneNumberId: '7200001', to: '15550001111', type: 'text', content: { text: { body: 'hallo' } }, shard: 0 }])
        expect(isContentReference((await opened.database.db.selectFrom('messages').select('content').where('id', '=', id).executeTakeFirstOrThrow()).content)).toBe(true)
        expect(store.messages.content(await store.messages.get(id) as never)).toEqual({ text: { body: 'hallo' } })
      } finally {
        await opened.database.close()
      }
      expect(fs.existsSync(path.join(dir, 'de', 'region.db'))).toBe(true)
      await expect(openStoreFromConfig(resolveConfig({ WABOX_DATA_DIR: dir }))).rejects.toThrow(
        `WABA ${wabaId} keeps its data in region DE, which is not configured (configured: none): add --region DE=LOCATION (or WABOX_REGIONS)`,
      )
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
