import { Command } from 'commander'
import { usageError } from '../cli-error.js'
import { controlRequest, resolveControl } from './phone-command.js'

interface ReviewFlags {
  id: string
  approve?: boolean
  reject?: boolean
  reason?: string
  pause?: boolean
  unpause?: boolean
  disable?: boolean
}

const ACTIONS = ['approve', 'reject', 'pause', 'unpause', 'disable'] as const

/**
 * `wabox templates ...`: the operator's side of template review on the network of a running
 * instance (its control API), e.g. approving a template a production-profile network holds
 * PENDING. The business hears of each decision as a message_template_status_update webhook.
 */
export function templatesCommand(): Command {
  const templates = new Command('templates')
    .description("review the message templates on a running instance's network")
    .option('--control <url>', 'control API base URL (default: control_url in <data-dir>/credentials.json)')
    .option('--data-dir <dir>', 'data directory of the running instance (WABOX_DATA_DIR, default ./wabox-data)')
  const print = (value: unknown) => console.log(JSON.stringify(value, null, 2))

  templates
    .command('list')
    .description("a business number's templates with their status and quality")
    .requiredOption('--wa-id <waId>', 'the business number (digits with country code)')
    .action(async (flags: { waId: string }, cmd: Command) => {
      print(await controlRequest(await resolveControl(cmd.optsWithGlobals()), 'GET', `/control/accounts/${encodeURIComponent(flags.waId)}/templates`))
    })

  templates
    .command('review')
    .description('decide a template: exactly one of --approve, --reject [--reason R], --pause, --unpause, --disable')
    .requiredOption('--id <templateId>', 'the template id')
    .option('--approve', 'PENDING (or REJECTED) → APPROVED')
    .option('--reject', 'PENDING → REJECTED')
    .option('--reason <reason>', 'why it is rejected (Meta: INVALID_FORMAT, INCORRECT_CATEGORY, ABUSIVE_CONTENT, SCAM, ...; default OTHER)')
    .option('--pause', 'APPROVED → PAUSED until --unpause')
    .option('--unpause', 'PAUSED → APPROVED')
    .option('--disable', 'APPROVED or PAUSED → DISABLED')
    .action(async (flags: ReviewFlags, cmd: Command) => {
      const chosen = ACTIONS.filter((a) => flags[a])
      if (chosen.length !== 1) throw usageError(`templates review: give exactly one of ${ACTIONS.map((a) => `--${a}`).join(', ')}`)
      if (flags.reason !== undefined && !flags.reject) throw usageError('templates review: --reason goes with --reject')
      const target = await resolveControl(cmd.optsWithGlobals())
      const body = flags.reason === undefined ? {} : { reason: flags.reason }
      print(await controlRequest(target, 'POST', `/control/templates/${encodeURIComponent(flags.id)}/${chosen[0]}`, body))
    })
  return templates
}
