import { describe, expect, it } from 'vitest'
import { partnerCommand } from '../src/cli/commands/partner-command.js'
import { partnerCredentials } from '../src/cli/demo-partner.js'
import { cliStore } from './helpers/cli-store.js'

describe('wabox partner', () => {
  const cli = cliStore((store) => store.wabas.create({ name: 'From before the tenancy' }))
  const { out, err } = cli
  const run = (...args: string[]) => partnerCommand(cli.output).parseAsync([...args, '--data-dir', cli.dir()], { from: 'user' })
  const pairOf = (lines: string[]) => ({ keyId: lines.find((l) => l.startsWith('key_id='))!.slice(7), secret: lines.find((l) => l.startsWith('secret='))!.slice(7) })

  it('create prints a working key pair once; list shows the partner and its client; keys rotate with a grace period and revoke', async () => {
    await run('create', '--name', 'Acme BSP', '--client', 'Bakery', '--adopt-wabas')
    const pair = pairOf(out)
    expect(err.join('\n')).toContain('cannot be shown again')
    expect(err.join('\n')).toContain('which now owns 1 WABA(s)')
    const partnerId = await cli.inStore(async (store) => (await store.partners.verify(pair.keyId, pair.secret))?.partnerId)
    expect(partnerId).toMatch(/^ptn_/)

    out.length = 0
    await run('list')
    expect(out[0]).toMatch(/^ID\s+NAME\s+CREATED\s+CLIENTS$/)
    expect(out[1]).toContain('Acme BSP')

    out.length = 0
    await run('keys', 'rotate', '--partner-id', partnerId!, '--key-id', pair.keyId, '--grace', '0')
    const rotated = pairOf(out)
    expect(rotated.keyId).toBe(pair.keyId)
    expect(await cli.inStore((store) => store.partners.verify(pair.keyId, pair.secret))).toBeUndefined()
    expect(await cli.inStore((store) => store.partners.verify(pair.keyId, rotated.secret))).toBeDefined()

    const clientId = await cli.inStore(async (store) => (await store.clients.list(partnerId!))[0]!.id)
    out.length = 0
    await run('clients', 'suspend', '--partner-id', partnerId!, '--client-id', clientId)
    expect(out).toEqual([`client ${clientId} is suspended`])
    const audit = await cli.inStore((store) => store.audit.list(partnerId!, { limit: 10 }))
    expect(audit.map((e) => [e.action, e.credentialId])).toEqual([
      ['client.create', 'cli'], ['partner_key.create', 'cli'], ['partner_key.rotate', 'cli'], ['client.suspend', 'cli'],
    ])

    await run('keys', 'revoke', '--partner-id', partnerId!, '--key-id', pair.keyId)
    expect(await cli.inStore((store) => store.partners.verify(pair.keyId, rotated.secret))).toBeUndefined()
    await expect(run('keys', 'list', '--partner-id', 'ptn_nobody')).rejects.toThrow(/unknown partner id 'ptn_nobody'/)
  })

  it("wabox start's partner credentials: a default partner and client own the WABAs from before; an earlier working pair is kept", async () => {
    const first = await cli.inStore((store) => partnerCredentials(store, 'https://127.0.0.1:8443', undefined))
    expect(first).toMatchObject({ base_url: 'https://127.0.0.1:8443/partner/v1', key_id: expect.stringMatching(/^pk_/) })
    const again = await cli.inStore((store) => partnerCredentials(store, 'https://127.0.0.1:8443', { partner: first } as never))
    expect(again).toEqual(first)
    const owned = await cli.inStore(async (store) => {
      const partner = await store.partners.verify(first.key_id, first.secret)
      return store.clients.wabas(partner!.partnerId)
    })
    expect(owned.map((w) => w.name)).toEqual(['From before the tenancy'])
  })
})
