import type { FastifyInstance } from 'fastify'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'
import { invalid, notFound } from '../errors.js'
import { createTemplate, listTemplates, templateHolder } from '../services/templates.js'
import type { HubTemplateReview, TemplateReviewAction } from './ports.js'

const ACTIONS: readonly TemplateReviewAction[] = ['approve', 'reject', 'pause', 'unpause', 'disable']

type NumberParams = { Params: { numberId: string } }

/** `/hub/api/numbers/{id}/templates`: the templates of the number's WABA, over the template use cases. */
export function hubTemplateRoutes(app: FastifyInstance, ctx: WebContext, review: HubTemplateReview | undefined): void {
  const hide = { hide: true }
  // every number of a WABA has its templates; changes go through the number the Cloud API uses,
  // whose webhooks then carry the status updates
  const holderOf = async (id: string): Promise<PhoneNumberRow> => {
    const number = await ctx.numberById(id)
    if (!number) throw notFound(`No phone number with id '${id}'`)
    return number.waba_id ? templateHolder(ctx, number.waba_id) : number
  }

  app.get<NumberParams>('/hub/api/numbers/:numberId/templates', { schema: hide }, async (request) => {
    const holder = await holderOf(request.params.numberId)
    return { templates: await listTemplates(ctx, holder.id), review: review !== undefined }
  })

  app.post<NumberParams>('/hub/api/numbers/:numberId/templates', { schema: hide }, async (request, reply) => {
    const holder = await holderOf(request.params.numberId)
    return reply.code(201).send(await createTemplate(ctx, holder.id, request.body))
  })

  if (!review) return
  app.post<{ Params: { templateId: string; action: string }; Body: { reason?: unknown } }>(
    '/hub/api/templates/:templateId/:action', { schema: hide }, async (request) => {
      const { templateId, action } = request.params
      if (!(ACTIONS as readonly string[]).includes(action)) throw invalid('action', `must be one of ${ACTIONS.join(', ')}`)
      const reason = request.body?.reason
      await review.review(templateId, action as TemplateReviewAction, typeof reason === 'string' && reason ? reason : undefined)
      return { templateId, action }
    },
  )
}
