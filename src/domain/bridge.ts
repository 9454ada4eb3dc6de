import type { TemplateDefinition, TemplatePack } from './templates.js'

/**
 * The few WebApp requests that need a synchronous answer from the CoreApp (registration
 * and contact checks). In `wabox start` both live in one process and the CoreApp
 * implements this directly.
 */
export interface RegistrationRequest {
  cc: string
  phoneNumber: string
  method: 'sms' | 'voice'
  /** vname certificate, base64. */
  cert: string
  pin?: string
  /** Take the number over from another install that holds it on the network (it loses the number). */
  migrate?: boolean
}

export interface ContactCheckResult {
  input: string
  status: 'valid' | 'invalid' | 'processing' | 'failed'
  wa_id?: string
}

/** A change to the number's templates, which the network holds (Meta's side). */
export type TemplateOperation =
  | { op: 'create'; template: Record<string, unknown> }
  | { op: 'edit'; templateId: string; changes: Record<string, unknown> }
  | { op: 'delete'; name: string; templateId?: string }

/** Plain data, so that it crosses the internal RPC; the dialect turns a refusal into its error. */
export type TemplateOperationResult =
  | { ok: true; template?: TemplateDefinition; deleted?: string[] }
  | { ok: false; reason: 'exists' | 'invalid' | 'not_found'; message: string }

export interface CoreBridge {
  /** 'code_sent' → HTTP 202 with the decoded vname; 'already_registered' → 201. */
  requestCode(phoneNumberId: string, req: RegistrationRequest): Promise<{ status: 'code_sent' | 'already_registered'; vname: string }>
  verify(phoneNumberId: string, code: string): Promise<void>
  setPin(phoneNumberId: string, pin: string | null): Promise<void>
  setShards(phoneNumberId: string, shards: number, pin?: string): Promise<void>
  /** `blocking: false` answers `processing` for uncached inputs and delivers results as a callback. */
  /**
   * Queues a read receipt for an inbound message (durably; the CoreApp sends it to the phone).
   * With `typing`, the sender also sees the business typing until its next message or for 25 s
   * (best effort, never stored: a user offline now never sees it).
   */
  markRead(phoneNumberId: string, messageId: string, opts?: { typing?: boolean }): Promise<void>
  checkContacts(phoneNumberId: string, inputs: string[], opts: { blocking: boolean; forceCheck: boolean }): Promise<ContactCheckResult[]>
  /**
   * The wa_id of the user whose business-scoped user id (BSUID) towards this number is
   * `userId` (a send addressed to `recipient` alone): from the contacts the CoreApp knows,
   * else asked of the network. undefined: the id is none of this number's users.
   */
  resolveUserId(phoneNumberId: string, userId: string): Promise<string | undefined>
  /** The number's message templates as the network holds them now: its namespace, each template with its review status. */
  templates(phoneNumberId: string): Promise<TemplatePack>
  /** Submits, edits or deletes templates of the number on the network. */
  manageTemplates(phoneNumberId: string, operation: TemplateOperation): Promise<TemplateOperationResult>
}
