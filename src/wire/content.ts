/**
 * What travels inside a Signal message (the end-to-end plaintext), MessagePack-encoded.
 * Only the two ends ever see it; the network relays it as ciphertext.
 * Shapes follow the WhatsApp webhook message objects so both ends speak one model.
 */

/** Reference to an encrypted blob on the network's media store. */
export interface MediaRef {
  /** Blob id returned by the network's media upload. */
  blobId: string
  /** AES-256-GCM key (32 bytes) and IV (12 bytes) the sender used. */
  key: Uint8Array
  iv: Uint8Array
  /** sha256 of the plaintext bytes, hex. */
  sha256: string
  mimeType: string
  size: number
  caption?: string
  filename?: string
}

export interface ContextRef {
  /** Id (wamid) of the message being replied to. */
  id: string
  from?: string
}

export type MessageBody =
  | { type: 'text'; text: { body: string; preview_url?: boolean } }
  | { type: 'image' | 'video' | 'audio' | 'voice' | 'document' | 'sticker'; media: MediaRef }
  | { type: 'location'; location: { latitude: number; longitude: number; name?: string; address?: string; url?: string } }
  | { type: 'contacts'; contacts: unknown[] }
  | { type: 'interactive'; interactive: Record<string, unknown> }
  /** A template after hydration: the rendered text plus what the user can press. */
  | {
      type: 'template'
      template: {
        name: string
        language: string
        header?: { text?: string; media?: MediaRef }
        body: string
        footer?: string
        buttons?: { type: string; text: string; payload?: string; url?: string }[]
      }
    }
  | { type: 'reaction'; reaction: { message_id: string; emoji: string } }
  /** Phone → business replies to interactive and template buttons. */
  | { type: 'button'; button: { text: string; payload: string } }

export type Content =
  | ({
      kind: 'message'
      /** Sender-assigned message id (wamid for the business, phone-made id for phones). */
      id: string
      /** Milliseconds since epoch at the sender. */
      sentAt: number
      /** Sender's display/profile name. */
      profileName?: string
      context?: ContextRef
    } & MessageBody)

export type MessageType = MessageBody['type']
