import { pricingTypeOf } from '../../domain/pricing.js'
import { CloudCode, WaboxError } from '../../errors/index.js'
import { PricingAnalytics } from '../../store/pricing-analytics.js'
import type { WebContext } from '../context.js'
import { graphPrincipal, requireScope } from './auth.js'
import type { GraphObjectKind } from './objects.js'

/**
 * `GET /{waba_id}?fields=id,name,pricing_analytics.start(…).end(…).granularity(DAILY)`: the
 * WABA node with Meta's pricing analytics, the delivered business messages per day and
 * pricing category, counted from the store.
 */

const DAY = 24 * 60 * 60 * 1000
/** The longest range one request may ask for. */
const MAX_DAYS = 366
const FIELDS = ['id', 'name', 'pricing_analytics']
const MODIFIERS = ['start', 'end', 'granularity', 'phone_numbers', 'pricing_categories']

function bad(rule: string): WaboxError {
  return new WaboxError(CloudCode.INVALID_PARAMETER, rule)
}

/** `a,b.x(1).y([2,3]),c` → the top-level fields: commas inside parentheses or brackets belong to a field. */
export function splitFields(fields: string): string[] {
  const out: string[] = []
  let depth = 0
  let current = ''
  for (const ch of fields) {
    if (ch === '(' || ch === '[') depth++
    if (ch === ')' || ch === ']') depth--
    if (ch === ',' && depth === 0) {
      out.push(current.trim())
      current = ''
    } else current += ch
  }
  out.push(current.trim())
  return out.filter(Boolean)
}

/** `pricing_analytics.start(1).end(2)` → its modifiers by name, each argument as written; 100 for anything else. */
function modifiersOf(field: string): Map<string, string> {
  const mods = new Map<string, string>()
  const rest = field.slice('pricing_analytics'.length)
  const pattern = /\.([a-z_]+)\(([^()]*)\)/gy
  let match: RegExpExecArray | null
  let at = 0
  while ((match = pattern.exec(rest)) !== null) {
    const [, name, arg] = match
    if (!MODIFIERS.includes(name!)) throw bad(`Invalid modifier '${name}' of pricing_analytics; it takes ${MODIFIERS.join(', ')}`)
    mods.set(name!, arg!.trim())
    at = pattern.lastIndex
  }
  if (at !== rest.length) throw bad(`Cannot parse the field '${field.slice(0, 200)}': write pricing_analytics.start(<unix time>).end(<unix time>).granularity(DAILY)`)
  return mods
}

/** A JSON array of strings in a modifier (`phone_numbers(["1555…"])`); undefined when absent. */
function listOf(mods: Map<string, string>, name: string): string[] | undefined {
  const text = mods.get(name)
  if (text === undefined) return undefined
  try {
    const list = JSON.parse(text) as unknown
    if (Array.isArray(list) && list.every((x) => typeof x === 'string')) return list as string[]
  } catch {
    // answered below
  }
  throw bad(`Invalid value for '${name}': a JSON array of strings, e.g. ${name}(["…"])`)
}

function unixSeconds(mods: Map<string, string>, name: 'start' | 'end'): number {
  const text = mods.get(name)
  if (text === undefined) throw bad(`pricing_analytics needs ${name}(<unix time in seconds>)`)
  if (!/^\d{1,12}$/.test(text)) throw bad(`Invalid value for '${name}': a unix time in seconds, got '${text.slice(0, 40)}'`)
  return Number(text) * 1000
}

async function pricingAnalytics(ctx: WebContext, wabaId: string, field: string): Promise<object> {
  const mods = modifiersOf(field)
  const start = unixSeconds(mods, 'start')
  const end = unixSeconds(mods, 'end')
  if (end <= start) throw bad("Invalid value for 'end': it must be after 'start'")
  if (end - start > MAX_DAYS * DAY) throw bad(`The range from start to end is at most ${MAX_DAYS} days`)
  const granularity = mods.get('granularity') ?? 'DAILY'
  if (granularity !== 'DAILY') throw bad(`Invalid value for 'granularity': wabox answers DAILY, got '${granularity.slice(0, 40)}'`)
  const numbers = await ctx.store.numbers.listByWaba(wabaId)
  const wanted = listOf(mods, 'phone_numbers')
  const categories = listOf(mods, 'pricing_categories')?.map((c) => c.toLowerCase())
  const ids = numbers.filter((n) => !wanted || wanted.includes(n.wa_id) || wanted.includes(`+${n.wa_id}`) || wanted.includes(n.id)).map((n) => n.id)
  const volumes = await new PricingAnalytics(ctx.store.ctx).deliveredByDay(ids, start, end)
  const points = volumes.filter((v) => !categories || categories.includes(v.category)).map((v) => ({
    start: Math.floor(v.day / 1000),
    end: Math.floor((v.day + DAY) / 1000),
    volume: v.volume,
    pricing_category: v.category.toUpperCase(),
    pricing_type: pricingTypeOf(v.category),
  }))
  return { data: [{ data_points: points }] }
}

/** The caller's own WABA as a Graph node. */
export function wabaKind(ctx: WebContext): GraphObjectKind {
  return {
    name: 'WhatsApp Business Account',
    handlers: {
      GET: async (request, id) => {
        const p = graphPrincipal(request)
        if (p.kind !== 'token' || p.wabaId !== id) return undefined
        requireScope(p, 'whatsapp_business_management')
        const waba = await ctx.store.wabas.get(id)
        if (!waba) return undefined
        const query = request.query as { fields?: unknown }
        const fields = typeof query.fields === 'string' && query.fields !== '' ? splitFields(query.fields) : ['id', 'name']
        const out: Record<string, unknown> = {}
        for (const field of fields) {
          const name = field.split('.')[0]!
          if (!FIELDS.includes(name)) throw bad(`Tried accessing nonexisting field (${name.slice(0, 60)}) on node type (WhatsAppBusinessAccount); fields are ${FIELDS.join(', ')}`)
          if (name === 'name') out.name = waba.name
          if (name === 'pricing_analytics') out.pricing_analytics = await pricingAnalytics(ctx, id, field)
        }
        return { ...out, id }
      },
    },
  }
}
