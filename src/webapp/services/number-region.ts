import { CloudCode, WaboxError } from '../../errors/index.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { Store } from '../../store/store.js'

/** The region a register call asked for, checked before the registration: what `applyRegisterRegion` then sets. */
export interface RegisterRegion {
  wabaId: string
  region: string
  /** The WABA already has it: nothing to set. */
  current: boolean
}

function refuse(message: string): WaboxError {
  return new WaboxError(CloudCode.INVALID_PARAMETER, `Invalid parameter 'data_localization_region': ${message}`)
}

/**
 * `POST /{phone_number_id}/register` with `data_localization_region` (cloud-api.md §7): the
 * number's WABA takes the region when it has none, the region is configured here and no
 * content of the WABA is stored yet (it would stay behind at home). A WABA in another region
 * is refused naming both; the same region is accepted as it is.
 */
export async function checkRegisterRegion(store: Store, number: PhoneNumberRow, raw: string): Promise<RegisterRegion> {
  const region = raw.toUpperCase()
  if (!number.waba_id) throw refuse(`phone number ${number.id} belongs to no WABA`)
  const waba = await store.wabas.get(number.waba_id)
  if (!waba) throw refuse(`phone number ${number.id} belongs to no WABA`)
  if (waba.dataLocalizationRegion === region) return { wabaId: waba.id, region, current: true }
  if (waba.dataLocalizationRegion !== null) {
    throw refuse(`WABA ${waba.id} already keeps its data in region ${waba.dataLocalizationRegion}, not ${region}; a WABA's region changes through the Partner API only`)
  }
  const configured = store.ctx.regions?.names ?? []
  if (!configured.includes(region)) throw refuse(`region ${region} is not configured in this deployment (configured regions: ${configured.join(', ') || 'none'})`)
  if (await store.wabas.hasContent(waba.id)) throw refuse(`WABA ${waba.id} already has messages stored outside region ${region}; set its region before its numbers carry messages`)
  return { wabaId: waba.id, region, current: false }
}

/** Sets the region checked by `checkRegisterRegion` once the registration succeeded. */
export async function applyRegisterRegion(store: Store, checked: RegisterRegion): Promise<void> {
  if (checked.current) return
  if (!(await store.wabas.claimRegion(checked.wabaId, checked.region))) {
    const now = await store.wabas.get(checked.wabaId)
    if (now?.dataLocalizationRegion !== checked.region) throw refuse(`WABA ${checked.wabaId} took region ${now?.dataLocalizationRegion ?? 'none'} meanwhile, not ${checked.region}`)
  }
}
