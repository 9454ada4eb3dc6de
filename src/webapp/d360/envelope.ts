import type { DialectErrors } from '../dialects.js'
import { cloudErrors } from '../cloud/envelope.js'

/**
 * The root paths of 360dialog's waba-v2 (media ids are Graph paths already); its templates live
 * inside On-Prem's `/v1`, so the dialect is nested.
 */
const D360_PATHS = ['/messages', '/media', '/whatsapp_business_profile', '/whatsapp_business/attachments', '/v1/configs/templates']

function isD360Path(path: string): boolean {
  return D360_PATHS.some((p) => path === p || path.startsWith(`${p}/`))
}

/** 360dialog relays Meta's answers, so its errors are the Graph envelope with the Cloud codes and statuses. */
export const d360Errors: DialectErrors = {
  matches: isD360Path,
  nested: true,
  render: cloudErrors.render,
}
