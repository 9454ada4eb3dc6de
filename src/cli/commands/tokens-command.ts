import { Command } from 'commander'
import { ACCESS_TOKEN_SCOPES, isAccessTokenScope, type AccessTokenScope } from '../../domain/hosting.js'
import type { Store } from '../../store/store.js'
import { CliError, usageError } from '../cli-error.js'
import { withConfigFlags } from '../config-flags.js'
import { consoleOutput, iso, table, withStore, type Flags, type KeysOutput } from './keys-command.js'

/** `--scope a,b`: each a known permission, at least one; a wrong one is a usage error naming it. */
export function parseScopes(text: string): AccessTokenScope[] {
  const given = text.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const unknown = given.find((s) => !isAccessTokenScope(s))
  if (unknown !== undefined) throw usageError(`--scope '${unknown}' is not a scope: use ${ACCESS_TOKEN_SCOPES.join(' and/or ')}, comma-separated`)
  if (given.length === 0) throw usageError(`--scope needs at least one of ${ACCESS_TOKEN_SCOPES.join(', ')}`)
  return given.filter(isAccessTokenScope)
}

async function knownWaba(store: Store, wabaId: string): Promise<void> {
  if (await store.wabas.get(wabaId)) return
  const known = (await store.wabas.list()).map((w) => w.id)
  throw new CliError(`unknown WABA id '${wabaId}' (${known.length > 0 ? `this instance has ${known.join(', ')}` : 'this instance has no WABA yet'})`)
}

/**
 * `wabox tokens create|list|revoke`: system-user access tokens of the Cloud API, each bound to a
 * WABA and so to all its numbers. Only digests are stored, so `create` is the only time a
 * token is shown.
 */
export function tokensCommand(output: KeysOutput = consoleOutput): Command {
  const tokens = new Command('tokens').description('create, list and revoke Cloud API access tokens (Authorization: Bearer) of a WABA')

  withConfigFlags(tokens.command('create'))
    .description('create a system-user access token for a WABA; prints the token once')
    .requiredOption('--waba-id <id>', 'the WhatsApp Business Account the token reaches (all its numbers)')
    .option('--scope <scopes>', `comma-separated permissions: ${ACCESS_TOKEN_SCOPES.join(', ')}`, ACCESS_TOKEN_SCOPES.join(','))
    .option('--label <label>', 'a name to recognise the token by in `tokens list`', '')
    .action(async (flags: Flags & { wabaId: string; scope: string; label: string }) => {
      const scopes = parseScopes(flags.scope)
      await withStore(flags, async (store) => {
        await knownWaba(store, flags.wabaId)
        const token = await store.accessTokens.create(flags.wabaId, scopes, flags.label)
        output.err(`Access token (${scopes.join(', ')}) for WABA ${flags.wabaId}; it is not stored and cannot be shown again:`)
        output.out(token)
      })
    })

  withConfigFlags(tokens.command('list'))
    .description("list a WABA's access tokens (label, scopes, created, revoked; never the tokens)")
    .requiredOption('--waba-id <id>', 'the WABA')
    .action(async (flags: Flags & { wabaId: string }) => {
      await withStore(flags, async (store) => {
        await knownWaba(store, flags.wabaId)
        const rows = await store.accessTokens.list(flags.wabaId)
        if (rows.length === 0) {
          output.err(`no access tokens for WABA ${flags.wabaId}`)
          return
        }
        const lines = table(['LABEL', 'SCOPES', 'CREATED', 'REVOKED'],
          rows.map((t) => [t.label || '-', t.scopes.join(','), iso(t.createdAt), iso(t.revokedAt)]))
        for (const line of lines) output.out(line)
      })
    })

  withConfigFlags(tokens.command('revoke'))
    .description('revoke an access token; requests with it answer 401 (Graph error 190) from then on')
    .requiredOption('--token <token>', 'the token as printed by `tokens create`')
    .action(async (flags: Flags & { token: string }) => {
      await withStore(flags, async (store) => {
        if (!(await store.accessTokens.revoke(flags.token))) throw new CliError('no active access token matches --token (unknown or already revoked)')
        output.out('access token revoked')
      })
    })

  return tokens
}
