import { main } from './main.js'

main(process.argv).catch((err: unknown) => {
  console.error(`wabox: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
