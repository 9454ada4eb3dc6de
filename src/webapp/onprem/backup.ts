import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OnPremCode, WaboxError } from '../../errors/index.js'
import type { NumberSnapshot } from '../../store/profile.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import { encryptBackup } from '../backup-crypto.js'
import { isDeploymentAdmin } from '../auth.js'
import type { WebContext } from '../context.js'
import { invalid } from '../errors.js'
import { openBackup } from '../services/backup-snapshot.js'
import { refuseCloudToOnPrem } from '../services/registration.js'
import { newPhoneNumberId } from './account.js'

const Backup = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) })
const Restore = Type.Object({ data: Type.String({ minLength: 1 }), password: Type.String({ minLength: 1, maxLength: 1024 }) })

/**
 * `/v1/settings/backup` and `/restore`: settings, profile and registration of the caller's number
 * (not messages, callbacks or media), encrypted with the caller's password.
 */
export function backupRoutes(app: FastifyInstance, ctx: WebContext): void {
  const { store } = ctx

  app.post<{ Body: Static<typeof Backup> }>('/v1/settings/backup', {
    config: { access: 'admin' },
    schema: { tags: ['settings'], summary: 'Export settings and registration, encrypted with a password', body: Backup },
  }, async (request) => {
    const number = await ctx.number(request)
    if (number.status !== 'registered') {
      throw new WaboxError(OnPremCode.SERVICE_NOT_READY, `+${number.wa_id} is not registered yet; a backup needs a registered number`)
    }
    const snapshot = await store.profiles.exportSnapshot(number.id)
    return ctx.ok({ settings: { data: await encryptBackup(snapshot, request.body.password) } })
  })

  /** The restore target: the caller's number, or a new one on a deployment without numbers. */
  const target = async (request: FastifyRequest, snap: NumberSnapshot): Promise<PhoneNumberRow> => {
    if (!request.phoneNumberId && isDeploymentAdmin(request.principal)) {
      return store.numbers.create({ id: newPhoneNumberId(), cc: snap.number.cc, number: snap.number.number, displayName: snap.number.display_name })
    }
    const number = await ctx.number(request)
    refuseCloudToOnPrem(number)
    if (number.status === 'registered' && number.wa_id !== snap.number.wa_id) {
      throw invalid('data', `the backup is of +${snap.number.wa_id} but this deployment's number +${number.wa_id} is registered; restore onto an unregistered number`)
    }
    const holder = await store.numbers.getByWaId(snap.number.wa_id)
    if (holder && holder.id !== number.id) {
      throw new WaboxError(OnPremCode.RESOURCE_ALREADY_EXISTS,
        `+${snap.number.wa_id} already exists as another number of this deployment (${holder.id})`, { httpStatus: 409 })
    }
    return number
  }

  app.post<{ Body: Static<typeof Restore> }>('/v1/settings/restore', {
    config: { access: 'admin' },
    schema: { tags: ['settings'], summary: 'Import a backup made with POST /v1/settings/backup', body: Restore },
  }, async (request) => {
    const snap = await openBackup(request.body.data, request.body.password)
    const number = await target(request, snap)
    await store.transaction((tx) => tx.profiles.importSnapshot(number.id, snap))
    request.log.info({ phoneNumberId: number.id, waId: snap.number.wa_id }, 'settings restored from backup')
    return ctx.ok()
  })
}
