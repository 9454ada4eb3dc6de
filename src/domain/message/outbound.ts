/**
 * The canonical outbound message: the On-Prem `/v1/messages` body after validation at the
 * edge. The Cloud dialect normalises into the same shape. Stored (sealed) with the message
 * and turned into end-to-end content by the CoreApp.
 */

/** What an uploaded file may be sent as (the media volume sorts uploads into the same kinds). */
export type MediaCategory = 'audio' | 'document' | 'image' | 'video' | 'sticker'

export interface MediaObject {
  /** Media id from `/v1/media` … */
  id?: string
  /** … or a URL the CoreApp downloads (through a configured media provider if named). */
  link?: string
  caption?: string
  filename?: string
  provider?: { name: string }
}

export interface LocationObject {
  latitude: number
  longitude: number
  name?: string
  address?: string
}

export interface TemplateParameter {
  type: 'text' | 'currency' | 'date_time' | 'image' | 'video' | 'document' | 'location' | 'payload' | 'coupon_code' | 'action'
  text?: string
  payload?: string
  coupon_code?: string
  parameter_name?: string
  currency?: { fallback_value: string; code: string; amount_1000: number }
  date_time?: { fallback_value: string }
  image?: MediaObject
  video?: MediaObject
  document?: MediaObject
  location?: LocationObject
  /** Flow, catalog and mpm buttons: e.g. `{flow_token}` or `{thumbnail_product_retailer_id}`. */
  action?: Record<string, unknown>
}

export interface TemplateComponent {
  type: 'header' | 'body' | 'button'
  sub_type?: string
  index?: string | number
  parameters?: TemplateParameter[]
}

export interface TemplateObject {
  namespace?: string
  name: string
  language: { code: string; policy?: 'deterministic' | 'fallback' }
  components?: TemplateComponent[]
  /**
   * Set by the Cloud dialect (never read from a body) when the send named a business-scoped user
   * id alone: the template rules see only this object, and some templates need a phone number.
   */
  to_user_id?: true
}

export interface HsmObject {
  namespace: string
  element_name: string
  language: { code: string; policy?: 'deterministic' | 'fallback' }
  localizable_params?: { default: string; currency?: unknown; date_time?: unknown }[]
}

export type OutboundBody =
  | { type: 'text'; text: { body: string } }
  | { type: 'image'; image: MediaObject }
  | { type: 'video'; video: MediaObject }
  | { type: 'audio'; audio: MediaObject }
  | { type: 'document'; document: MediaObject }
  | { type: 'sticker'; sticker: MediaObject }
  | { type: 'location'; location: LocationObject }
  | { type: 'contacts'; contacts: Record<string, unknown>[] }
  | { type: 'interactive'; interactive: Record<string, unknown> & { type: string } }
  | { type: 'template'; template: TemplateObject }
  | { type: 'hsm'; hsm: HsmObject }
  | { type: 'reaction'; reaction: { message_id: string; emoji: string } }

export type OutboundContent = OutboundBody & {
  /** The recipient's wa_id; for a send addressed to `recipient` alone, the wa_id that id resolved to. */
  to: string
  /**
   * The business-scoped user id (BSUID) the send addressed instead of a phone number (Cloud
   * `recipient`; `to` wins when a send gives both, and then this is left out). Statuses name it.
   */
  recipient?: string
  preview_url?: boolean
  /** Reply to an earlier message. */
  context?: { message_id: string }
  /** Echoed back on status callbacks (Cloud). */
  biz_opaque_callback_data?: string
}

export type OutboundType = OutboundBody['type']
