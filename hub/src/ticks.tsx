import type { Status } from './api'
import { clock } from './format'

const ORDER = ['queued', 'sent', 'delivered', 'read'] as const

/** WhatsApp's ticks for an outgoing message: ✓ sent, ✓✓ delivered, blue ✓✓ read, ! failed; times on hover and for screen readers. */
export function Ticks({ status, statuses, error }: { status: string; statuses: Status[]; error?: string | null }) {
  const failed = status === 'failed'
  // in the order a message goes through them (a receipt may be written before the network's ack)
  const rank = (s: Status) => (ORDER as readonly string[]).indexOf(s.status)
  const times = [...statuses].sort((a, b) => rank(a) - rank(b)).map((s) => `${s.status} ${clock(s.at)}`).join(', ')
  const label = failed ? `failed${error ? `: ${error}` : ''}` : `${status}${times ? ` (${times})` : ''}`
  const reached = ORDER.indexOf(status as (typeof ORDER)[number])
  const mark = failed ? '!' : reached >= 2 ? '✓✓' : reached === 1 ? '✓' : '🕓'
  return <span class={`ticks ${status}`} data-status={status} title={label} aria-label={label} role="img">{mark}</span>
}
