import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tokensCommand } from '../src/cli/commands/tokens-command.js'
import { cliStore } from './helpers/cli-store.js'
import { runWabox, type Finished } from './helpers/wabox-process.js'

const WABA = '102290129340398'
const EXIT_WITHIN_MS = 45_000

describe('wabox tokens', () => {
  const cli = cliStore((store) => store.wabas.create({ id: WABA, name: 'Shop' }))
  const { out, err } = cli
  const run = (...args: string[]) => tokensCommand(cli.output).parseAsync([...args, '--data-dir', cli.dir()], { from: 'user' })
  const verify = (token: string) => cli.inStore((store) => store.accessTokens.verify(token))
  const clear = () => out.splice(0)

  it('create prints a working token once; list shows it without the token; revoke disables it', async () => {
    await run('create', '--waba-id', WABA, '--label', 'ci')
    expect(out).toHaveLength(1)
    const token = out[0] ?? ''
    expect(token).toMatch(/^EAA[0-9A-Za-z]{150,}$/)
    expect(err.join('\n')).toContain('cannot be shown again')
    expect(await verify(token)).toMatchObject({ wabaId: WABA, scopes: ['whatsapp_business_messaging', 'whatsapp_business_management'], label: 'ci' })

    await run('create', '--waba-id', WABA, '--scope', ' whatsapp_business_messaging ')
    const messaging = out[1] ?? ''
    expect(await verify(messaging)).toMatchObject({ scopes: ['whatsapp_business_messaging'], label: '' })

    clear()
    await run('list', '--waba-id', WABA)
    expect(out[0]).toMatch(/^LABEL\s+SCOPES\s+CREATED\s+REVOKED$/)
    expect(out[1]).toMatch(/^ci\s+whatsapp_business_messaging,whatsapp_business_management\s+\d{4}-\d\d-\d\dT\S+Z\s+-$/)
    expect(out[2]).toMatch(/^-\s+whatsapp_business_messaging\s+/)
    expect(out.join('\n')).not.toContain(token)

    clear()
    await run('revoke', '--token', token)
    expect(out).toEqual(['access token revoked'])
    expect(await verify(token)).toBeUndefined()
    expect(await verify(messaging)).toBeDefined()
    await expect(run('revoke', '--token', token)).rejects.toThrow(/already revoked/)
  })

  it('refuses an unknown WABA naming the ones there are, and an unknown scope naming the scopes', async () => {
    await expect(run('create', '--waba-id', '404')).rejects.toThrow(`unknown WABA id '404' (this instance has ${WABA})`)
    await expect(run('list', '--waba-id', '404')).rejects.toThrow(/unknown WABA id '404'/)
    await expect(run('create', '--waba-id', WABA, '--scope', 'whatsapp_business_messaging,admin'))
      .rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/--scope 'admin' is not a scope: use whatsapp_business_messaging and\/or whatsapp_business_management/) as unknown })
    await expect(run('create', '--waba-id', WABA, '--scope', ',')).rejects.toMatchObject({ exitCode: 2 })
    expect(await cli.inStore((store) => store.accessTokens.list(WABA))).toEqual([])
  })

  /** Failed with `code`, saying why on exactly one stderr line. */
  function expectFailure(result: Finished, code: 1 | 2, says: RegExp): void {
    const lines = result.stderr.trim().split('\n')
    expect({ code: result.code, lines }).toMatchObject({ code, lines: [expect.stringMatching(says)] })
  }

  it('as a process: one stderr line, exit 1 on a failure and 2 on a command line that cannot work', async () => {
    expectFailure(await runWabox(['tokens', 'create', '--data-dir', cli.dir(), '--waba-id', '404']), 1, /^wabox: unknown WABA id '404' \(this instance has 102290129340398\)$/)
    expectFailure(await runWabox(['tokens', 'revoke', '--data-dir', cli.dir(), '--token', 'EAAnosuch']), 1, /^wabox: no active access token matches --token/)
    expectFailure(await runWabox(['tokens', 'create', '--data-dir', cli.dir(), '--waba-id', WABA, '--scope', 'root']), 2, /^wabox: --scope 'root' is not a scope/)
    expectFailure(await runWabox(['tokens', 'list', '--data-dir', cli.dir()]), 2, /required option '--waba-id <id>'/)
    const empty = path.join(cli.dir(), 'typo')
    expectFailure(await runWabox(['tokens', 'list', '--data-dir', empty, '--waba-id', WABA]), 1, /^wabox: no wabox database in .*typo/)
    expect(fs.existsSync(empty)).toBe(false)
  }, 5 * EXIT_WITHIN_MS)
})
