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
  /** Passes over the WABA's numbers: the first, then sweeps until one finds nothing left behind. */
  passes: number
  durationMs: number
}

const MOVE_BATCH = 500
/** Sweeps after the first pass at most: each waits the settle time, so stragglers are few and the second one finds none. */
const MAX_SWEEPS = 3

/**
 * Moves a WABA's content at rest to another configured region, confirmed with the two-step PIN
 * of its channels. The WABA names the new region first; once every process writes there
 * (`settleMs`), each number's content is copied in batches, its references switched and the
 * old copies deleted (store/region-move.ts). Channels keep serving throughout: a reference
 * resolves in either region while it moves. Audited as `waba.region`.
 *
 * Repeatable: a call naming the region the WABA already has runs the passes too, so a call
 * repeated after a crash moves what the first one left behind. A write whose transaction was
 * open across the change commits its content into the old region after the first pass went
 * past it: sweeps, each after the settle time, move those until one finds nothing.
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
  const region = store.ctx.regions!.get(to)!
  const started = store.ctx.clock.now()
  const settle = () => (settleMs > 0 ? sleep(settleMs) : Promise.resolve())
  if (from !== to) {
    await store.wabas.setRegion(waba.id, to)
    await settle()
  }
  const report = { rows: 0, mediaFiles: 0, passes: 0 }
  const pass = async (): Promise<number> => {
    let moved = 0
    for (const n of numbers) {
      const done = await moveNumberContent(store.ctx, n.id, region, MOVE_BATCH, deps.homeMediaRoot)
      report.rows += done.rows
      report.mediaFiles += done.mediaFiles
      moved += done.rows + done.mediaFiles
    }
    report.passes++
    return moved
  }
  await pass()
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    await settle()
    if ((await pass()) === 0) break
  }
  const change = { wabaId: waba.id, from, to, rowsMoved: report.rows, mediaFilesMoved: report.mediaFiles, passes: report.passes, durationMs: store.ctx.clock.now() - started }
  await audit(deps, actor, 'waba.region', 'waba', waba.id, waba.clientId, { from, to, rows_moved: change.rowsMoved, media_files_moved: change.mediaFilesMoved, passes: change.passes, duration_ms: change.durationMs })
  return change
}
