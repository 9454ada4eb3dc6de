import pino, { type Logger } from 'pino'
import type { Config } from '../config/config.js'
import { prettyLine } from './pretty-log.js'

/** JSON lines on stdout, or with `pretty` the same entries as readable lines. */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>): Logger {
  const options = { level: config.logLevel, base: { service: 'wabox' } }
  if (config.logFormat === 'json') return pino(options)
  return pino(options, { write: (line: string) => void process.stdout.write(prettyLine(line)) })
}
