import type { DialectErrors } from '../dialects.js'
import { cloudErrors } from '../cloud/envelope.js'

/** The root paths of 360dialog's waba-v2 that no other dialect has (media ids are Graph paths already). */
const D360_PATHS = ['/messages', '/media', '/whatsapp_business_profile', '/whatsapp_business/attachments']

function isD360Path(path: string): boolean {
  return D360_PATHS.some((p) => path === p || path.startsWith(`${p}/`))
}

/** 360dialog relays Meta's answers, so its errors are the Graph envelope with the Cloud codes and statuses. */
export const d360Errors: DialectErrors = {
  matches: isD360Path,
  render: cloudErrors.render,
}
