import { CliError, errorLine } from './cli-error.js'
import { main } from './main.js'

// A failed command prints one line and exits at once: a thread or socket left over from a
// half-done start must not keep a process with nothing to do alive.
main(process.argv).catch((err: unknown) => {
  console.error(`wabox: ${errorLine(err)}`)
  process.exit(err instanceof CliError ? err.exitCode : 1)
})
