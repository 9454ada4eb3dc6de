import type { TemplateOperation, TemplateOperationResult } from '../../domain/bridge.js'
import { checkTemplateDefinition, checkTemplateEdit, type TemplateRule } from '../../domain/template-definition.js'
import type { TemplateDefinition } from '../../domain/templates.js'
import { CloudCode, GraphSubcode, WaboxError } from '../../errors/index.js'
import type { PhoneNumberRow } from '../../store/schema.js'
import type { WebContext } from '../context.js'

/**
 * Template management, the use cases of Graph's `/{waba_id}/message_templates` and `/{template_id}`
 * and of 360dialog's `/v1/configs/templates`. Templates live on the network (Meta's side); the
 * number's CoreApp carries each change there. Meta's rules are checked here first, so a bad
 * definition gets Graph's answer without a round trip. Errors are Graph's (both dialects speak it).
 */

const RULE_SUBCODES: Partial<Record<TemplateRule, number>> = {
  header_format: GraphSubcode.TEMPLATE_HEADER_FORMAT,
  variable_at_edge: GraphSubcode.TEMPLATE_VARIABLE_AT_EDGE,
}

export interface TemplateFilters {
  name?: string
  nameOrContent?: string
  status?: string[]
  category?: string[]
  language?: string[]
}

/**
 * The number a WABA's template requests go through: its first registered Cloud-hosted number,
 * else its first registered one. Every number of the WABA has its templates (the network shares
 * them); a change is made through this one, whose webhooks carry its status updates.
 */
export async function findTemplateHolder(ctx: WebContext, wabaId: string): Promise<PhoneNumberRow | undefined> {
  const registered = (await ctx.store.numbers.listByWaba(wabaId)).filter((n) => n.status === 'registered')
  return registered.find((n) => n.platform_type === 'CLOUD_API') ?? registered[0]
}

export async function templateHolder(ctx: WebContext, wabaId: string): Promise<PhoneNumberRow> {
  const holder = await findTemplateHolder(ctx, wabaId)
  if (!holder) {
    throw new WaboxError(CloudCode.INVALID_PARAMETER,
      `WhatsApp Business Account ${wabaId} has no registered phone number yet: its templates are reached through its numbers`)
  }
  return holder
}

export async function listTemplates(ctx: WebContext, phoneNumberId: string, filters: TemplateFilters = {}): Promise<TemplateDefinition[]> {
  const pack = await ctx.deps.bridge.templates(phoneNumberId)
  const has = (list: string[] | undefined, value: string) => !list || list.includes(value.toUpperCase()) || list.includes(value)
  const name = filters.name?.toLowerCase()
  const content = filters.nameOrContent?.toLowerCase()
  return pack.templates
    .filter((t) => (name === undefined || t.name.toLowerCase().includes(name))
      && (content === undefined || t.name.toLowerCase().includes(content) || t.components.some((c) => c.text?.toLowerCase().includes(content)))
      && has(filters.status, t.status) && has(filters.category, t.category) && has(filters.language, t.language))
    .sort((a, b) => a.name.localeCompare(b.name) || a.language.localeCompare(b.language))
}

/** The template `id` of the number, or undefined. */
export async function findTemplate(ctx: WebContext, phoneNumberId: string, id: string): Promise<TemplateDefinition | undefined> {
  return (await ctx.deps.bridge.templates(phoneNumberId)).templates.find((t) => t.id === id)
}

/** Submits a template for review; the answer has its id and first status. */
export async function createTemplate(ctx: WebContext, phoneNumberId: string, body: unknown): Promise<TemplateDefinition> {
  const checked = checkTemplateDefinition(body)
  if (!checked.ok) throw definitionError(checked.field, checked.message, checked.rule)
  const result = await ctx.deps.bridge.manageTemplates(phoneNumberId, { op: 'create', template: body as Record<string, unknown> })
  return templateOf(result)
}

/** Meta's edit: new components and/or category; the template goes back to review. */
export async function editTemplate(ctx: WebContext, phoneNumberId: string, current: TemplateDefinition, body: unknown): Promise<TemplateDefinition> {
  const checked = checkTemplateEdit(body, { category: current.category, parameterFormat: current.parameterFormat ?? 'POSITIONAL' })
  if (!checked.ok) throw definitionError(checked.field, checked.message, checked.rule)
  const changes = body as Record<string, unknown>
  const op: TemplateOperation = { op: 'edit', templateId: current.id!, changes: { ...(changes.components === undefined ? {} : { components: changes.components }), ...(changes.category === undefined ? {} : { category: changes.category }) } }
  return templateOf(await ctx.deps.bridge.manageTemplates(phoneNumberId, op))
}

/** Deletes every language of `name`, or with `templateId` (Graph's `hsm_id`) that one. */
export async function deleteTemplates(ctx: WebContext, phoneNumberId: string, name: unknown, templateId?: unknown): Promise<string[]> {
  if (typeof name !== 'string' || name === '') throw new WaboxError(CloudCode.INVALID_PARAMETER, 'The parameter name is required: the name of the template to delete')
  if (templateId !== undefined && (typeof templateId !== 'string' || templateId === '')) throw new WaboxError(CloudCode.INVALID_PARAMETER, 'Invalid parameter hsm_id: a template id')
  const result = await ctx.deps.bridge.manageTemplates(phoneNumberId, { op: 'delete', name, ...(templateId ? { templateId } : {}) })
  if (!result.ok) throw refusal(result)
  return result.deleted ?? []
}

function templateOf(result: TemplateOperationResult): TemplateDefinition {
  if (!result.ok) throw refusal(result)
  if (!result.template) throw new Error('the network answered a template change without the template')
  return result.template
}

function definitionError(field: string, message: string, rule: TemplateRule): WaboxError {
  const subcode = RULE_SUBCODES[rule]
  return new WaboxError(CloudCode.INVALID_PARAMETER, `Invalid parameter ${field}: ${message}`, subcode ? { subcode } : {})
}

function refusal(result: Extract<TemplateOperationResult, { ok: false }>): WaboxError {
  switch (result.reason) {
    case 'exists':
      return new WaboxError(CloudCode.INVALID_PARAMETER, `Content in this language already exists: ${result.message}`, { subcode: GraphSubcode.TEMPLATE_LANGUAGE_EXISTS })
    case 'not_found':
      return new WaboxError(CloudCode.INVALID_PARAMETER, `Message template not found: ${result.message}`)
    case 'invalid':
      return new WaboxError(CloudCode.INVALID_PARAMETER, `Invalid parameter: ${result.message}`)
  }
}
