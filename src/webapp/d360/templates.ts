import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { TemplateDefinition } from '../../domain/templates.js'
import { invalid } from '../../errors/index.js'
import type { WebContext } from '../context.js'
import { createTemplate, deleteTemplates } from '../services/templates.js'

const MAX_LIMIT = 1000
/** The fields a listing filters and sorts on; 360dialog also names them `business_templates.<field>`. */
const FIELDS = ['name', 'status', 'category', 'language'] as const
type Field = (typeof FIELDS)[number]
const PREFIX = 'business_templates.'

const ListQuery = Type.Object({
  limit: Type.Optional(Type.String({ description: `1–${MAX_LIMIT}, default ${MAX_LIMIT}` })),
  offset: Type.Optional(Type.String({ description: 'templates to skip, default 0' })),
  sort: Type.Optional(Type.String({ description: 'a field (name, status, category, language), "-" first for descending; default business_templates.name' })),
  filters: Type.Optional(Type.String({ description: 'a JSON object of exact matches, e.g. {"business_templates.status":"approved"}' })),
}, { additionalProperties: true })

function field(raw: string): Field | undefined {
  const name = raw.startsWith(PREFIX) ? raw.slice(PREFIX.length) : raw
  return (FIELDS as readonly string[]).includes(name) ? name as Field : undefined
}

function count(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN
  if (!(n >= min && n <= max)) throw invalid(name, `must be a whole number from ${min} to ${max}`)
  return n
}

function parseFilters(raw: string | undefined): Record<string, string> {
  if (raw === undefined || raw === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw invalid('filters', 'must be a JSON object, e.g. {"business_templates.name":"order_update"}')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('filters', 'must be a JSON object')
  for (const [key, value] of Object.entries(parsed)) {
    if (!field(key)) throw invalid(`filters.${key.slice(0, 40)}`, `templates filter on ${FIELDS.map((f) => PREFIX + f).join(', ')}`)
    if (typeof value !== 'string') throw invalid(`filters.${key.slice(0, 40)}`, 'must be a string')
  }
  return parsed as Record<string, string>
}

function parseSort(raw: string | undefined): { by: Field; desc: boolean; text: string } {
  const text = raw ?? `${PREFIX}name`
  const desc = text.startsWith('-')
  const by = field(desc ? text.slice(1) : text)
  if (!by) throw invalid('sort', `must be one of ${FIELDS.map((f) => PREFIX + f).join(', ')}, "-" first for descending`)
  return { by, desc, text }
}

/** A template in 360dialog's shape. */
function d360Template(t: TemplateDefinition, namespace: string) {
  return {
    category: t.category, components: t.components, ...(t.id ? { id: t.id } : {}), language: t.language, name: t.name, namespace,
    rejected_reason: t.status === 'REJECTED' ? t.reason ?? 'UNKNOWN' : 'NONE', status: t.status.toLowerCase(),
  }
}

const NameParams = Type.Object({ name: Type.String() })

/**
 * `/v1/configs/templates`: the number's templates as the network holds them, in 360dialog's
 * shapes: list, create (Meta's body and rules, the same use case as Graph's) and delete by name.
 */
export function d360TemplatesRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/configs/templates', {
    config: { d360: 'list its templates' },
    schema: {
      tags: ['360dialog'],
      summary: 'The templates of the number: {count, filters, limit, offset, sort, total, waba_templates:[{category, components, language, name, namespace, rejected_reason, status}]}',
      querystring: ListQuery,
    },
  }, async (request) => {
    const q = request.query
    const limit = count(q.limit, 'limit', MAX_LIMIT, 1, MAX_LIMIT)
    const offset = count(q.offset, 'offset', 0, 0, 1_000_000_000)
    const filters = parseFilters(q.filters)
    const sort = parseSort(q.sort)
    const pack = await ctx.deps.bridge.templates((await ctx.number(request)).id)
    const all = pack.templates.map((t) => d360Template(t, pack.namespace))
      .filter((t) => Object.entries(filters).every(([k, v]) => String(t[field(k)!]).toLowerCase() === v.toLowerCase()))
      .sort((x, y) => (sort.desc ? -1 : 1) * x[sort.by].localeCompare(y[sort.by]))
    const page = all.slice(offset, offset + limit)
    return { count: page.length, filters, limit, offset, sort: [sort.text], total: all.length, waba_templates: page }
  })

  app.post('/v1/configs/templates', {
    config: { d360: 'create its templates' },
    schema: { tags: ['360dialog'], summary: "Submit a template for review (Meta's body) → the template in 360dialog's shape, status submitted" },
  }, async (request, reply) => {
    const number = await ctx.number(request)
    const created = await createTemplate(ctx, number.id, request.body)
    const { namespace } = await ctx.deps.bridge.templates(number.id)
    return reply.status(201).send(d360Template(created, namespace))
  })

  app.delete<{ Params: Static<typeof NameParams> }>('/v1/configs/templates/:name', {
    config: { d360: 'delete its templates' },
    schema: { tags: ['360dialog'], summary: 'Delete every language of the template → {success: true}', params: NameParams },
  }, async (request) => {
    await deleteTemplates(ctx, (await ctx.number(request)).id, request.params.name)
    return { success: true }
  })
}
