import path from 'node:path'
import { Command } from 'commander'
import type { Store } from '../../store/store.js'
import { createClient, listClients, updateClient } from '../../webapp/services/partner-clients.js'
import { createPartnerKey, listPartnerKeys, revokePartnerKey, rotatePartnerKey } from '../../webapp/services/partner-credentials.js'
import { changeWabaRegion } from '../../webapp/services/partner-region.js'
import { PartnerRefusal, type PartnerActor } from '../../webapp/services/partner-refusal.js'
import { WaboxError } from '../../errors/index.js'
import { CliError, usageError } from '../cli-error.js'
import { configFrom, withConfigFlags } from '../config-flags.js'
import { consoleOutput, iso, table, withStore, type Flags, type KeysOutput } from './keys-command.js'

type PartnerFlags = Flags & { partnerId: string }

/** The operator acting for a partner: audited as `cli`, from no address. */
function operator(partnerId: string): PartnerActor {
  return { partnerId, credentialId: 'cli', sourceIp: null }
}

/** Runs a partner use case on the configured store; a refusal of it is a CliError with its message. */
async function forPartner<T>(flags: PartnerFlags, use: (store: Store, actor: PartnerActor) => Promise<T>): Promise<T> {
  return withStore(flags, async (store) => {
    if (!(await store.partners.get(flags.partnerId))) {
      const known = (await store.partners.list()).map((p) => `${p.id} (${p.name})`)
      throw new CliError(`unknown partner id '${flags.partnerId}' (${known.length > 0 ? `this instance has ${known.join(', ')}` : 'this instance has no partner yet: `wabox partner create`'})`)
    }
    try {
      return await use(store, operator(flags.partnerId))
    } catch (err) {
      if (err instanceof PartnerRefusal) throw new CliError(err.message)
      throw err
    }
  })
}

function graceSeconds(text: string): number {
  if (!/^[0-9]{1,7}$/.test(text)) throw usageError(`--grace '${text}' is not a number of seconds`)
  return Number(text)
}

/**
 * `wabox partner …`: partners of the BSP hub, their key pairs for the Partner API
 * (`/partner/v1/`, HTTP Basic `key_id:secret`) and their clients, over the same use cases as
 * the API. Secrets are stored as digests, so they are shown once, when made.
 */
export function partnerCommand(output: KeysOutput = consoleOutput): Command {
  const partner = new Command('partner').description('partners of the BSP hub: create and list them, their Partner API key pairs and clients')
  const showPair = (keyId: string, secret: string) => {
    output.err('Partner API key pair (HTTP Basic key_id:secret); the secret is not stored and cannot be shown again:')
    output.out(`key_id=${keyId}`)
    output.out(`secret=${secret}`)
  }

  withConfigFlags(partner.command('create'))
    .description('create a partner with a first client and a key pair; prints the pair once')
    .requiredOption('--name <name>', 'the partner (hosting business) name')
    .option('--client <name>', 'the name of its first client', 'default client')
    .option('--adopt-wabas', 'give the first client every WABA outside the tenancy (e.g. those `wabox provision` made)')
    .action(async (flags: Flags & { name: string; client: string; adoptWabas?: boolean }) => {
      await withStore(flags, async (store) => {
        const created = await store.partners.create(flags.name)
        const client = await createClient({ store }, operator(created.id), { name: flags.client })
        const adopted = flags.adoptWabas ? await store.clients.adoptOrphanWabas(client.id) : 0
        const pair = await createPartnerKey({ store }, operator(created.id), 'cli')
        output.err(`partner ${created.id} (${created.name}) with client ${client.id}${flags.adoptWabas ? `, which now owns ${adopted} WABA(s)` : ''}`)
        showPair(pair.keyId, pair.secret)
      })
    })

  withConfigFlags(partner.command('list'))
    .description('list the partners with their clients')
    .action(async (flags: Flags) => {
      await withStore(flags, async (store) => {
        const rows: string[][] = []
        for (const p of await store.partners.list()) {
          const clients = await listClients({ store }, operator(p.id))
          rows.push([p.id, p.name, iso(p.createdAt), clients.map((c) => `${c.id}${c.status === 'suspended' ? ' (suspended)' : ''}`).join(',') || '-'])
        }
        if (rows.length === 0) return output.err('no partners yet: `wabox partner create --name …`')
        for (const line of table(['ID', 'NAME', 'CREATED', 'CLIENTS'], rows)) output.out(line)
      })
    })

  const keys = partner.command('keys').description("a partner's key pairs for the Partner API")
  withConfigFlags(keys.command('create'))
    .description('create a key pair; prints it once')
    .requiredOption('--partner-id <id>', 'the partner')
    .option('--label <label>', 'a name to recognise the pair by', '')
    .action(async (flags: PartnerFlags & { label: string }) => {
      const pair = await forPartner(flags, (store, actor) => createPartnerKey({ store }, actor, flags.label))
      showPair(pair.keyId, pair.secret)
    })
  withConfigFlags(keys.command('list'))
    .description("list a partner's key pairs (never the secrets)")
    .requiredOption('--partner-id <id>', 'the partner')
    .action(async (flags: PartnerFlags) => {
      const rows = await forPartner(flags, (store, actor) => listPartnerKeys({ store }, actor))
      for (const line of table(['KEY_ID', 'LABEL', 'CREATED', 'EXPIRES', 'REVOKED'], rows.map((k) => [k.keyId, k.label || '-', iso(k.createdAt), iso(k.expiresAt), iso(k.revokedAt)]))) output.out(line)
    })
  withConfigFlags(keys.command('rotate'))
    .description('a new secret for a key id; the current one keeps working for the grace period')
    .requiredOption('--partner-id <id>', 'the partner')
    .requiredOption('--key-id <id>', 'the key id')
    .option('--grace <seconds>', 'how long the current secret keeps working', '86400')
    .action(async (flags: PartnerFlags & { keyId: string; grace: string }) => {
      const pair = await forPartner(flags, (store, actor) => rotatePartnerKey({ store }, actor, flags.keyId, graceSeconds(flags.grace)))
      output.err(`the previous secret works until ${iso(pair.previousValidUntil)}`)
      showPair(pair.keyId, pair.secret)
    })
  withConfigFlags(keys.command('revoke'))
    .description('revoke a key id (every secret of it) now')
    .requiredOption('--partner-id <id>', 'the partner')
    .requiredOption('--key-id <id>', 'the key id')
    .action(async (flags: PartnerFlags & { keyId: string }) => {
      await forPartner(flags, (store, actor) => revokePartnerKey({ store }, actor, flags.keyId))
      output.out('partner key revoked')
    })

  const clients = partner.command('clients').description("a partner's clients")
  withConfigFlags(clients.command('create'))
    .description('create a client')
    .requiredOption('--partner-id <id>', 'the partner')
    .requiredOption('--name <name>', 'the client (business) name')
    .action(async (flags: PartnerFlags & { name: string }) => {
      output.out((await forPartner(flags, (store, actor) => createClient({ store }, actor, { name: flags.name }))).id)
    })
  for (const [verb, status] of [['suspend', 'suspended'], ['resume', 'active']] as const) {
    withConfigFlags(clients.command(verb))
      .description(verb === 'suspend' ? "suspend a client: its API keys and tokens answer 403, its queue is kept" : 'resume a suspended client')
      .requiredOption('--partner-id <id>', 'the partner')
      .requiredOption('--client-id <id>', 'the client')
      .action(async (flags: PartnerFlags & { clientId: string }) => {
        const client = await forPartner(flags, (store, actor) => updateClient({ store }, actor, flags.clientId, { status }))
        output.out(`client ${client.id} is ${client.status}`)
      })
  }
  const wabas = partner.command('wabas').description("a partner's WABAs")
  withConfigFlags(wabas.command('region'))
    .description("move a WABA's content at rest to another configured region; the channels' two-step PIN is read from WABOX_CHANNEL_PIN")
    .requiredOption('--partner-id <id>', 'the partner')
    .requiredOption('--waba-id <id>', 'the WABA')
    .requiredOption('--to <region>', 'the region (one of the --region names)')
    .action(async (flags: PartnerFlags & { wabaId: string; to: string }) => {
      // a secret has no flag: command lines are visible to every user of the machine
      const pin = process.env.WABOX_CHANNEL_PIN
      if (!pin) throw usageError("set WABOX_CHANNEL_PIN to the two-step PIN of the WABA's channels")
      const change = await forPartner(flags, async (store, actor) => {
        try {
          return await changeWabaRegion({ store, homeMediaRoot: path.join(configFrom(flags).dataDir, 'media') }, actor, flags.wabaId, { data_localization_region: flags.to, pin })
        } catch (err) {
          if (err instanceof WaboxError) throw new CliError(`${err.title}: ${err.details}`)
          throw err
        }
      })
      output.out(`WABA ${change.wabaId}: ${change.rowsMoved} rows and ${change.mediaFilesMoved} media files moved from ${change.from ?? 'home'} to ${change.to} in ${change.durationMs} ms (${change.passes} passes)`)
    })
  return partner
}
