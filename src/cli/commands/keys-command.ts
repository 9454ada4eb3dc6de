import fs from 'node:fs'
import path from 'node:path'
import { Command, Option } from 'commander'
import { API_KEY_SCOPES, type ApiKeyScope } from '../../store/api-keys.js'
import type { Store } from '../../store/store.js'
import { CliError } from '../cli-error.js'
import { configFrom, withConfigFlags } from '../config-flags.js'
import { openStoreFromConfig } from '../open-store.js'
import { rotateMasterCommand } from '../rotate-master-command.js'

/** Where the command writes: stdout for results (the key alone, for scripts), stderr for notes. */
export interface KeysOutput {
  out(line: string): void
  err(line: string): void
}

export const consoleOutput: KeysOutput = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
}

export type Flags = Record<string, string | boolean | undefined>

/**
 * Opens the configured store for one operation and always closes it. A data directory with
 * no database is a mistyped --data-dir: refused, not filled with a new database and key.
 */
export async function withStore<T>(flags: Flags, use: (store: Store) => Promise<T>): Promise<T> {
  const config = configFrom(flags)
  if (!config.databaseUrl && !fs.existsSync(path.join(config.dataDir, 'wabox.db'))) {
    throw new CliError(`no wabox database in ${config.dataDir}: pass the --data-dir (WABOX_DATA_DIR) or --database-url (WABOX_DATABASE_URL) of your instance`)
  }
  const { database, store } = await openStoreFromConfig(config)
  try {
    return await use(store)
  } finally {
    await database.close()
  }
}

async function knownNumber(store: Store, phoneNumberId: string): Promise<void> {
  if (!(await store.numbers.get(phoneNumberId))) throw new CliError(`unknown phone number id '${phoneNumberId}'`)
}

export function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString()
}

/** Rows as left-aligned columns under a header. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(header), ...rows.map(line)]
}

/**
 * `wabox keys create|list|revoke`: the operator's API keys of a number. Keys are stored as
 * digests, so `create` is the only time a key is shown.
 */
export function keysCommand(output: KeysOutput = consoleOutput): Command {
  const keys = new Command('keys').description('create, list and revoke API keys (D360-API-KEY / Authorization: Apikey) of a number')

  withConfigFlags(keys.command('create'))
    .description('create an API key bound to a number; prints the key once')
    .requiredOption('--phone-number-id <id>', 'the number the key acts on')
    .addOption(new Option('--scope <scope>', 'd360: the 360dialog-style key; admin: every endpoint of the number; monitoring: health, metrics, stats')
      .choices(API_KEY_SCOPES).default('d360'))
    .option('--label <label>', 'a name to recognise the key by in `keys list`', '')
    .action(async (flags: Flags & { phoneNumberId: string; scope: ApiKeyScope; label: string }) => {
      await withStore(flags, async (store) => {
        await knownNumber(store, flags.phoneNumberId)
        const key = await store.apiKeys.create(flags.phoneNumberId, flags.scope, flags.label)
        output.err(`API key (scope ${flags.scope}) for number ${flags.phoneNumberId}; it is not stored and cannot be shown again:`)
        output.out(key)
      })
    })

  withConfigFlags(keys.command('list'))
    .description("list a number's API keys (label, scope, created, revoked; never the keys)")
    .requiredOption('--phone-number-id <id>', 'the number')
    .action(async (flags: Flags & { phoneNumberId: string }) => {
      await withStore(flags, async (store) => {
        await knownNumber(store, flags.phoneNumberId)
        const rows = await store.apiKeys.list(flags.phoneNumberId)
        if (rows.length === 0) {
          output.err(`no API keys for number ${flags.phoneNumberId}`)
          return
        }
        const lines = table(['LABEL', 'SCOPE', 'CREATED', 'REVOKED'],
          rows.map((k) => [k.label || '-', k.scope, iso(k.createdAt), iso(k.revokedAt)]))
        for (const line of lines) output.out(line)
      })
    })

  withConfigFlags(keys.command('revoke'))
    .description('revoke an API key; requests with it answer 401 from then on')
    .requiredOption('--key <key>', 'the key as printed by `keys create`')
    .action(async (flags: Flags & { key: string }) => {
      await withStore(flags, async (store) => {
        if (!(await store.apiKeys.revoke(flags.key))) throw new CliError('no active API key matches --key (unknown or already revoked)')
        output.out('API key revoked')
      })
    })

  keys.addCommand(rotateMasterCommand(output))

  return keys
}
