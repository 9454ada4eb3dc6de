/** pino's numeric levels by name, for `--log-format pretty`. */
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
// said by every line, or shown elsewhere in it
const OMITTED = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'component', 'err'])

/**
 * One pino JSON line as `12:00:00.123 INFO  webapp: message key=value`, and an error's
 * message after it. For a person at a terminal; collectors read the JSON.
 */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : ''
  const level = (LEVELS[entry.level as number] ?? String(entry.level)).padEnd(5)
  const component = typeof entry.component === 'string' ? `${entry.component}: ` : ''
  const fields = Object.entries(entry).filter(([k]) => !OMITTED.has(k)).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
  const err = entry.err as { message?: string } | undefined
  const parts = [time, level, `${component}${String(entry.msg ?? '')}`, ...fields, ...(err?.message ? [`error=${JSON.stringify(err.message)}`] : [])]
  return parts.filter(Boolean).join(' ') + '\n'
}
