import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TemplateDefinition } from '../../domain/templates.js'
import { CloudCode, WaboxError } from '../../errors/index.js'
import type { WebContext } from '../context.js'
import { createTemplate, deleteTemplates, editTemplate, findTemplate, findTemplateHolder, listTemplates, templateHolder } from '../services/templates.js'
import { graphPrincipal, requireScope } from './auth.js'
import { unsupportedRequest } from './envelope.js'
import type { GraphObjectKind } from './objects.js'

/** The fields of Meta's message template node wabox answers. */
const FIELDS: Record<string, (t: TemplateDefinition) => unknown> = {
  name: (t) => t.name,
  parameter_format: (t) => t.parameterFormat ?? 'POSITIONAL',
  components: (t) => t.components,
  language: (t) => t.language,
  status: (t) => t.status,
  category: (t) => t.category,
  quality_score: (t) => ({ score: t.quality ?? 'UNKNOWN' }),
  rejected_reason: (t) => t.reason ?? 'NONE',
  id: (t) => t.id,
}
const DEFAULT_FIELDS = ['name', 'parameter_format', 'components', 'language', 'status', 'category', 'id']
const DEFAULT_LIMIT = 25
const MAX_LIMIT = 1000

const WabaParams = Type.Object({ waba_id: Type.String() })
const ListQuery = Type.Object({
  name: Type.Optional(Type.String({ description: 'templates whose name contains this' })),
  name_or_content: Type.Optional(Type.String({ description: 'templates whose name or text contains this' })),
  status: Type.Optional(Type.String({ description: 'comma list: APPROVED, PENDING, REJECTED, PAUSED, DISABLED' })),
  category: Type.Optional(Type.String({ description: 'comma list: MARKETING, UTILITY, AUTHENTICATION' })),
  language: Type.Optional(Type.String({ description: 'comma list of language codes' })),
  fields: Type.Optional(Type.String({ description: `comma list of ${Object.keys(FIELDS).join(', ')}` })),
  limit: Type.Optional(Type.String({ description: `1–${MAX_LIMIT}, default ${DEFAULT_LIMIT}` })),
  after: Type.Optional(Type.String()),
  before: Type.Optional(Type.String()),
}, { additionalProperties: true })
const DeleteQuery = Type.Object({ name: Type.Optional(Type.String()), hsm_id: Type.Optional(Type.String()) }, { additionalProperties: true })

type Waba = FastifyRequest<{ Params: Static<typeof WabaParams> }>

/** The holder number of the WABA the caller's token belongs to, with management scope. */
async function wabaHolder(ctx: WebContext, request: Waba): Promise<string> {
  const p = graphPrincipal(request)
  const { waba_id: wabaId } = request.params
  if (p.kind !== 'token' || p.wabaId !== wabaId) throw unsupportedRequest(request.method, wabaId)
  requireScope(p, 'whatsapp_business_management')
  const holder = await templateHolder(ctx, wabaId)
  request.phoneNumberId = holder.id
  return holder.id
}

function fieldsOf(raw: unknown): string[] {
  if (raw === undefined || raw === '') return DEFAULT_FIELDS
  if (typeof raw !== 'string') throw new WaboxError(CloudCode.INVALID_PARAMETER, "Invalid value for query parameter 'fields'")
  const names = [...new Set(raw.split(',').map((f) => f.trim()).filter(Boolean))]
  const unknown = names.find((f) => !(f in FIELDS))
  if (unknown !== undefined) {
    throw new WaboxError(CloudCode.INVALID_PARAMETER, `Tried accessing nonexisting field (${unknown}) on node type (WhatsAppBusinessHSM); fields are ${Object.keys(FIELDS).join(', ')}`)
  }
  return names.includes('id') ? names : [...names, 'id']
}

function templateObject(t: TemplateDefinition, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f, FIELDS[f]!(t)]))
}

/** `A,B`, or a JSON array (`["A","B"]`, as @great-detail/whatsapp sends several). */
function list(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined
  if (raw.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(raw)
      if (Array.isArray(parsed)) return parsed.map(String)
    } catch {
      // not JSON: read as a comma list
    }
  }
  return raw.split(',').map((v) => v.trim()).filter(Boolean)
}
const cursorOf = (t: TemplateDefinition | undefined) => Buffer.from(t?.id ?? '').toString('base64url')
const idOfCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString()

/** Graph bodies may come as forms, where `components` is a JSON string. */
function bodyOf(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new WaboxError(CloudCode.INVALID_PARAMETER, 'The request body must be a JSON object')
  const out = { ...(body as Record<string, unknown>) }
  if (typeof out.components === 'string') {
    try {
      out.components = JSON.parse(out.components)
    } catch {
      throw new WaboxError(CloudCode.INVALID_PARAMETER, 'Invalid parameter components: not valid JSON')
    }
  }
  return out
}

/** `…/message_templates` of a WABA: create, list with filters and cursors, delete by name. */
export function cloudTemplatesRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.post<{ Params: Static<typeof WabaParams> }>('/:waba_id/message_templates', {
    schema: { tags: ['cloud'], summary: 'Submit a message template for review: {name, language, category, components, parameter_format?} → {id, status, category}', params: WabaParams },
  }, async (request) => {
    const holder = await wabaHolder(ctx, request)
    const t = await createTemplate(ctx, holder, bodyOf(request.body))
    return { id: t.id, status: t.status, category: t.category }
  })

  app.get<{ Params: Static<typeof WabaParams>; Querystring: Static<typeof ListQuery> }>('/:waba_id/message_templates', {
    schema: { tags: ['cloud'], summary: "List the WABA's message templates: {data, paging:{cursors:{before, after}, next?}}", params: WabaParams, querystring: ListQuery },
  }, async (request) => {
    const holder = await wabaHolder(ctx, request)
    const q = request.query
    const fields = fieldsOf(q.fields)
    const limit = q.limit === undefined ? DEFAULT_LIMIT : /^\d{1,4}$/.test(q.limit) ? Number(q.limit) : NaN
    if (!(limit >= 1 && limit <= MAX_LIMIT)) throw new WaboxError(CloudCode.INVALID_PARAMETER, `Invalid parameter limit: a whole number from 1 to ${MAX_LIMIT}`)
    const all = await listTemplates(ctx, holder, {
      name: q.name, nameOrContent: q.name_or_content, status: list(q.status)?.map((s) => s.toUpperCase()),
      category: list(q.category)?.map((c) => c.toUpperCase()), language: list(q.language),
    })
    let start = 0
    let end = all.length
    if (q.after !== undefined) start = all.findIndex((t) => t.id === idOfCursor(q.after!)) + 1
    if (q.before !== undefined) end = Math.max(0, all.findIndex((t) => t.id === idOfCursor(q.before!)))
    const page = q.before !== undefined && q.after === undefined ? all.slice(Math.max(0, end - limit), end) : all.slice(start, Math.min(end, start + limit))
    const paging: Record<string, unknown> = { cursors: { before: cursorOf(page[0]), after: cursorOf(page.at(-1)) } }
    if (page.length > 0 && all.indexOf(page.at(-1)!) < all.length - 1) {
      const next = new URL(request.url, `${request.protocol}://${request.host}`)
      next.searchParams.delete('before')
      next.searchParams.set('after', cursorOf(page.at(-1)))
      paging.next = next.toString()
    }
    return { data: page.map((t) => templateObject(t, fields)), paging }
  })

  app.delete<{ Params: Static<typeof WabaParams>; Querystring: Static<typeof DeleteQuery> }>('/:waba_id/message_templates', {
    schema: { tags: ['cloud'], summary: 'Delete every language of template `name`, or with `hsm_id` that one → {success: true}', params: WabaParams, querystring: DeleteQuery },
  }, async (request) => {
    const holder = await wabaHolder(ctx, request)
    await deleteTemplates(ctx, holder, request.query.name, request.query.hsm_id)
    return { success: true }
  })
}

/** `GET|POST /{template_id}`: a template of the caller's WABA (read with `fields`, edit). */
export function templateKind(ctx: WebContext): GraphObjectKind {
  const reach = async (request: FastifyRequest, id: string) => {
    const p = request.principal
    if (p?.kind !== 'token') return undefined
    const holder = await findTemplateHolder(ctx, p.wabaId)
    const template = holder ? await findTemplate(ctx, holder.id, id) : undefined
    if (!holder || !template) return undefined
    request.phoneNumberId = holder.id
    return { holder: holder.id, template, scopes: p }
  }
  return {
    name: 'message template',
    handlers: {
      GET: async (request, id) => {
        const found = await reach(request, id)
        if (!found) return undefined
        return templateObject(found.template, fieldsOf((request.query as { fields?: unknown }).fields))
      },
      POST: async (request, id) => {
        const found = await reach(request, id)
        if (!found) return undefined
        requireScope(found.scopes, 'whatsapp_business_management')
        await editTemplate(ctx, found.holder, found.template, bodyOf(request.body ?? {}))
        return { success: true }
      },
    },
  }
}
