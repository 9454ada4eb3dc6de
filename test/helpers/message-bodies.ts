import { encodedSizeBound } from '../../src/domain/message/limits.js'

export const TO = '16315551234'

/** `{ x: { x: … {} } }`: `levels` objects, built without recursion so any depth is cheap. */
export function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {}
  for (let i = 1; i < levels; i++) value = { x: value }
  return value
}

/** A contacts card whose `org` nests `levels` objects. */
export function deepCard(levels: number): Record<string, unknown> {
  return { name: { formatted_name: 'Deep' }, org: nested(levels) }
}

/** The JSON text of a contacts message whose card's `org` nests `levels` objects (JSON.stringify would overflow). */
export function deepContactsJson(levels: number): string {
  const org = '{"x":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1)
  return `{"to":"${TO}","type":"contacts","contacts":[{"name":{"formatted_name":"Deep"},"org":${org}}]}`
}

/**
 * A contacts message body whose validated content measures exactly `bytes` by
 * `encodedSizeBound`: one card padded with ASCII in `org.company` (1 byte a character).
 */
export function contactsOfSize(bytes: number): Record<string, unknown> {
  const body = (company: string) => ({ to: TO, type: 'contacts', contacts: [{ name: { formatted_name: 'Big' }, org: { company } }] })
  return body('x'.repeat(bytes - encodedSizeBound(body(''))))
}

/** A flow message whose `data` is `count` floats, padded with ASCII to measure exactly `bytes`. */
export function flowOfSize(bytes: number, count: number): Record<string, unknown> {
  const body = (pad: string) => ({
    to: TO, type: 'interactive',
    interactive: {
      type: 'flow', body: { text: 'go' },
      action: {
        name: 'flow',
        parameters: {
          flow_message_version: '3', flow_cta: 'Book', flow_id: '1',
          flow_action_payload: { screen: 'A', data: { pad, values: Array.from({ length: count }, (_, i) => i + 0.5) } },
        },
      },
    },
  })
  return body('x'.repeat(bytes - encodedSizeBound(body(''))))
}
