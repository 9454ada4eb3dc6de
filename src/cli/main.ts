import { Command } from 'commander'
import { configTable } from '../config/config.js'
import { coreappCommand } from './commands/coreapp-command.js'
import { migrateCommand } from './commands/migrate-command.js'
import { partnerCommand } from './commands/partner-command.js'
import { provisionCommand } from './commands/provision-command.js'
import { webappCommand } from './commands/webapp-command.js'
import { webhooksCommand } from './commands/webhooks-command.js'
import { keysCommand } from './commands/keys-command.js'
import { networkCommand } from './commands/network-command.js'
import { phoneCommand } from './commands/phone-command.js'
import { templatesCommand } from './commands/templates-command.js'
import { startCommand } from './commands/start-command.js'
import { tokensCommand } from './commands/tokens-command.js'
import { VERSION } from './version.js'

export function buildProgram(): Command {
  const program = new Command('wabox')
    .description('Self-hostable WhatsApp Business API with its own WhatsApp network and simulated phones')
    .version(VERSION, '-V, --version')
    .addHelpText('after', '\nEnvironment:\n' + configTable().map((o) => `  ${o.env.padEnd(20)} ${o.flag.padEnd(16)} ${o.rule}`).join('\n'))

  program.addCommand(migrateCommand())
  program.addCommand(startCommand())
  program.addCommand(coreappCommand())
  program.addCommand(webappCommand())
  program.addCommand(webhooksCommand())
  program.addCommand(provisionCommand())
  program.addCommand(networkCommand())
  program.addCommand(phoneCommand())
  program.addCommand(templatesCommand())
  program.addCommand(keysCommand())
  program.addCommand(tokensCommand())
  program.addCommand(partnerCommand())
  exitTwoOnUsageErrors(program)
  return program
}

/** Commander exits 1 on a bad command line; wabox keeps 1 for failures and exits 2 for those. */
function exitTwoOnUsageErrors(cmd: Command): void {
  cmd.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  for (const sub of cmd.commands) exitTwoOnUsageErrors(sub)
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv)
}
