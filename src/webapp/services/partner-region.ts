import { setTimeout as sleep } from 'node:timers/promises'
import { CloudCode, WaboxError } from '../../errors/index.js'
import { moveNumberContent } from '../../store/region-move.js'
import { REGION_SETTLE_MS } from '../../store/regions.js'
import { verifyPassword } from '../../store/users.js'
import { audit, checkedRegion, partnerWaba, type PartnerDeps } from './partner-clients.js'
import { PartnerRefusal, type PartnerActor } from './partner-refusal.js'

export interface RegionChange {
  wabaId: string
  from: string | null
  to: string
  /** Home rows whose content now lives in `to`. */
  rowsMoved: number
  mediaFilesMoved: number
  durationMs: number
}

const MOVE_BATCH = 500

/**
 * Moves a WABA's content at rest to another configured region, confirmed with the two-step PIN
 * of its channels. The WABA names the new region first; once every process writes there
 * (`settleMs`), each number's content is copied in batches, its references switched and the
 * old copies deleted (store/region-move.ts). Channels keep serving throughout: a reference
 * resolves in either region while it moves. Audited as `waba.region`.
 */
export async function changeWabaRegion(
  deps: PartnerDeps, actor: PartnerActor, wabaId: string, input: { data_localization_region: unknown; pin: unknown }, settleMs = REGION_SETTLE_MS,
): Promise<RegionChange> {
  const { store } = deps
  const waba = await partnerWaba(deps, actor, wabaId)
  const to = checkedRegion(deps, input.data_localization_region)
  if (to === null) throw new PartnerRefusal('invalid_request', "'data_localization_region' must name a configured region: content does not move back to the home store")
  if (typeof input.pin !== 'string' || !/^\d{6}$/.test(input.pin)) throw new PartnerRefusal('invalid_request', "'pin' must be the 6-digit two-step PIN of the WABA's channels")
  const numbers = await store.numbers.listByWaba(waba.id)
  const withPin = numbers.filter((n) => n.pin_hash !== null)
  if (withPin.length === 0) throw new PartnerRefusal('conflict', `No channel of WABA ${waba.id} has a two-step PIN to confirm the change with: register one first`)
  for (const n of withPin) {
    if (!(await verifyPassword(input.pin, n.pin_hash!))) {
      throw new WaboxError(CloudCode.PIN_MISMATCH, `The two-step verification PIN does not match the one set for phone number ${n.id}`)
    }
  }
  const from = waba.dataLocalizationRegion
  const started = store.ctx.clock.now()
  const report = { rows: 0, mediaFiles: 0 }
  if (from !== to) {
    await store.wabas.setRegion(waba.id, to)
    store.ctx.regions?.forget()
    if (settleMs > 0) await sleep(settleMs)
    for (const n of numbers) {
      const moved = await moveNumberContent(store.ctx, n.id, store.ctx.regions!.get(to)!, MOVE_BATCH)
      report.rows += moved.rows
      report.mediaFiles += moved.mediaFiles
    }
  }
  const change = { wabaId: waba.id, from, to, rowsMoved: report.rows, mediaFilesMoved: report.mediaFiles, durationMs: store.ctx.clock.now() - started }
  await audit(deps, actor, 'waba.region', 'waba', waba.id, waba.clientId, { from, to, rows_moved: change.rowsMoved, media_files_moved: change.mediaFilesMoved, duration_ms: change.durationMs })
  return change
}
