import type { Generated, Selectable } from 'kysely'

/** Tables of migration 0007-cloud-accounts (the Cloud API's accounts). Timestamps are integer ms. */
export interface AppTable {
  /** Numeric string, as Meta's app ids. */
  id: string
  name: string
  /** Signs Cloud webhooks (X-Hub-Signature-256) and makes the app access token; sealed. */
  app_secret: Buffer
  /** The app-level webhook subscription `{url, verifyToken}`, sealed JSON; null when none. */
  subscription: Buffer | null
  /** JSON array of the webhook fields the app subscribed to. */
  subscription_fields: string | null
  created_at: number
}

export interface WabaTable {
  /** Numeric string, as Meta's WABA ids. */
  id: string
  name: string
  /** The app whose subscription and secret serve this WABA's webhooks. */
  app_id: string | null
  /** WABA override `{url, verifyToken}`, sealed JSON; null when none. */
  webhook_override: Buffer | null
  created_at: number
  /** The client that owns the WABA (0011); null for one outside the tenancy. */
  client_id: Generated<string | null>
  /** Region where the WABA's content is kept at rest (0011); null = the home store. */
  data_localization_region: Generated<string | null>
}

export interface AccessTokenTable {
  /** sha256 of the token (the token itself is shown once, at creation). */
  token_hash: string
  waba_id: string
  /** Comma-separated: whatsapp_business_messaging, whatsapp_business_management. */
  scopes: string
  label: string
  created_at: number
  revoked_at: number | null
}

export interface CloudTables {
  apps: AppTable
  wabas: WabaTable
  access_tokens: AccessTokenTable
}

export type AppRow = Selectable<AppTable>
export type WabaRow = Selectable<WabaTable>
export type AccessTokenRow = Selectable<AccessTokenTable>
