import type { IncomingMessage } from 'node:http'

/**
 * Which dialect serves a path two dialects share. 360dialog's waba-v2 paths are Meta's without
 * the version and the phone number id, so `GET|DELETE /{media_id}` is both the Cloud dialect's
 * `/{id}` and 360dialog's; only the credential tells them apart: `D360-API-KEY` → 360dialog,
 * anything else (`Authorization: Bearer`) → Cloud. This is the one place that decides it.
 *
 * A route registered with `constraints: { credential: 'd360' }` serves requests that carry the
 * header; a request with the header on a path no such route has falls back to the unconstrained
 * route, and a request without it never reaches a constrained route.
 */
export const D360_CREDENTIAL = 'd360'

/** The route constraint of a 360dialog route on a shared path. */
export const D360_ONLY = { credential: D360_CREDENTIAL } as const

function credentialOf(req: IncomingMessage): string | undefined {
  const key = req.headers['d360-api-key']
  return typeof key === 'string' && key.trim() !== '' ? D360_CREDENTIAL : undefined
}

/** The find-my-way constraint strategy `credential`, registered once in app.ts. */
export const credentialConstraint = {
  name: 'credential',
  // a D360 key on a path only another dialect serves still reaches that route (and its auth says what is wrong)
  mustMatchWhenDerived: false,
  storage() {
    const handlers = new Map<unknown, unknown>()
    return {
      get: (value: unknown) => (handlers.get(value) ?? null) as never,
      set: (value: unknown, handler: unknown) => {
        handlers.set(value, handler)
      },
    }
  },
  validate(value: unknown): void {
    if (value !== D360_CREDENTIAL) throw new Error(`the credential constraint takes '${D360_CREDENTIAL}', not ${String(value)}`)
  },
  deriveConstraint: (req: IncomingMessage) => credentialOf(req) as never,
}
