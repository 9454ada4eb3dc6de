/** The 24-hour customer-service window (onprem-api.md §11, cloud-api.md §5). */
export const SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000

/** Message types that may be sent outside the window: templates, new and legacy. */
const TEMPLATE_TYPES: ReadonlySet<string> = new Set(['template', 'hsm'])

export function isTemplateType(type: string): boolean {
  return TEMPLATE_TYPES.has(type)
}

/** The window is open while the user's last inbound message is less than 24 hours old. */
export function isWindowOpen(lastInboundAt: number | null | undefined, now: number): boolean {
  return lastInboundAt !== null && lastInboundAt !== undefined && now - lastInboundAt < SERVICE_WINDOW_MS
}

/** Free-form messages need an open window; otherwise they fail with 470 (Cloud 131047). */
export function windowAllows(type: string, lastInboundAt: number | null | undefined, now: number): boolean {
  return isTemplateType(type) || isWindowOpen(lastInboundAt, now)
}
