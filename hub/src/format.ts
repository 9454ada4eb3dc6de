/** `14:03:07` in the viewer's time zone, from a server timestamp. */
export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

/** What a message says, in one line: its text, caption, or its type in brackets. */
export function summary(type: string, opened: unknown): string {
  if (typeof opened !== 'object' || opened === null) return '[cannot be opened]'
  const content = opened as Record<string, unknown>
  const part = (content[type] ?? {}) as Record<string, unknown>
  const text = (content.text as { body?: string } | undefined)?.body ?? part.caption ?? part.body ?? (part as { name?: string }).name
  if (typeof text === 'string') return text
  if (type === 'reaction') return `reacted ${String((part as { emoji?: string }).emoji ?? '')}`
  if (type === 'interactive') return JSON.stringify(part[String(part.type)] ?? part)
  return `[${type}]`
}

/** A stored failure (`[{code, title, details}]` as the API reports it) as one line. */
export function failure(error: string): string {
  try {
    const [first] = JSON.parse(error) as { code?: number; title?: string; details?: string }[]
    if (first) return `${first.code ?? ''} ${first.title ?? ''}${first.details ? `: ${first.details}` : ''}`.trim()
  } catch {
    // not JSON: shown as it is
  }
  return error
}

/** The variables of a template text, {{1}} or {{name}}, each once: numbers in order, names as first used. */
export function templateVariables(text: string | undefined): string[] {
  const keys = [...new Set([...(text ?? '').matchAll(/\{\{\s*([a-z0-9_]+)\s*\}\}/gi)].map((m) => m[1]!))]
  return keys.every((k) => /^\d+$/.test(k)) ? keys.sort((a, b) => Number(a) - Number(b)) : keys
}
