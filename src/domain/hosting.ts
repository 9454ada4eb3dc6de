/**
 * How a number is hosted, in Meta's terms: `ON_PREMISE` numbers speak the `/v1` dialect and get
 * On-Prem callbacks (in the format their settings ask for); `CLOUD_API` numbers speak the Graph
 * and waba-v2 dialects and always get Cloud callbacks.
 */
export type PlatformType = 'ON_PREMISE' | 'CLOUD_API'

export const PLATFORM_TYPES: readonly PlatformType[] = ['ON_PREMISE', 'CLOUD_API']

export function isPlatformType(value: unknown): value is PlatformType {
  return typeof value === 'string' && (PLATFORM_TYPES as readonly string[]).includes(value)
}

/** What a system-user access token may do, Meta's permission names. */
export type AccessTokenScope = 'whatsapp_business_messaging' | 'whatsapp_business_management'

export const ACCESS_TOKEN_SCOPES: readonly AccessTokenScope[] = ['whatsapp_business_messaging', 'whatsapp_business_management']

export function isAccessTokenScope(value: unknown): value is AccessTokenScope {
  return typeof value === 'string' && (ACCESS_TOKEN_SCOPES as readonly string[]).includes(value)
}
