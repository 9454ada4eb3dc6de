import { decode } from '@msgpack/msgpack'

/**
 * The display name inside a vname certificate as the wabox network issues it: msgpack
 * `{details: bin, signature: bin}` with `details` = msgpack `{cc, phone, name, …}`. The
 * network verifies the signature at `register.request`; the CoreApp only reads the name for
 * the 202 answer. Undefined if the bytes are not such a certificate.
 */
export function vnameOf(cert: Uint8Array): { name: string; cc?: string; phone?: string } | undefined {
  try {
    const outer = decode(cert) as { details?: unknown }
    if (!(outer.details instanceof Uint8Array)) return undefined
    const details = decode(outer.details) as { name?: unknown; cc?: unknown; phone?: unknown }
    if (typeof details.name !== 'string') return undefined
    return {
      name: details.name,
      ...(typeof details.cc === 'string' ? { cc: details.cc } : {}),
      ...(typeof details.phone === 'string' ? { phone: details.phone } : {}),
    }
  } catch {
    return undefined
  }
}
