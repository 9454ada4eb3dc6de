/**
 * Content sniffing from magic bytes. Only the families whose limits or compatibility matter
 * to WhatsApp are recognised; anything else is `undefined`.
 */
export type SniffedFamily =
  | 'jpeg' | 'png' | 'webp' | 'gif' | 'pdf' | 'ogg' | 'mp3' | 'aac' | 'amr' | 'mp4' | '3gp' | 'zip' | 'ole'

export interface Sniffed {
  family: SniffedFamily
  /** The MIME type this content usually travels as. */
  mime: string
  /** Animated WebP (VP8X animation flag). */
  animated?: boolean
}

/** Bytes of a file's start that sniffing needs. */
export const SNIFF_BYTES = 64

const MIME: Record<SniffedFamily, string> = {
  jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', pdf: 'application/pdf',
  ogg: 'audio/ogg', mp3: 'audio/mpeg', aac: 'audio/aac', amr: 'audio/amr', mp4: 'video/mp4', '3gp': 'video/3gpp',
  zip: 'application/zip', ole: 'application/x-ole-storage',
}

function ascii(head: Uint8Array, at: number, text: string): boolean {
  if (head.length < at + text.length) return false
  for (let i = 0; i < text.length; i++) if (head[at + i] !== text.charCodeAt(i)) return false
  return true
}

function bytes(head: Uint8Array, at: number, values: number[]): boolean {
  return head.length >= at + values.length && values.every((v, i) => head[at + i] === v)
}

function family(head: Uint8Array): SniffedFamily | undefined {
  if (bytes(head, 0, [0xff, 0xd8, 0xff])) return 'jpeg'
  if (bytes(head, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png'
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) return 'webp'
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a')) return 'gif'
  if (ascii(head, 0, '%PDF-')) return 'pdf'
  if (ascii(head, 0, 'OggS')) return 'ogg'
  if (ascii(head, 0, '#!AMR')) return 'amr'
  if (ascii(head, 0, 'ID3')) return 'mp3'
  if (ascii(head, 4, 'ftyp')) return ascii(head, 8, '3g') ? '3gp' : 'mp4'
  if (bytes(head, 0, [0x50, 0x4b, 0x03, 0x04])) return 'zip'
  if (bytes(head, 0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return 'ole'
  const [b0, b1] = [head[0] ?? 0, head[1] ?? 0]
  if (b0 === 0xff && (b1 & 0xe0) === 0xe0) {
    // MPEG frame sync: layer bits 00 mean ADTS (AAC), anything else MP3
    return (b1 & 0x06) === 0 ? 'aac' : 'mp3'
  }
  return undefined
}

export function sniff(head: Uint8Array): Sniffed | undefined {
  const f = family(head)
  if (!f) return undefined
  const out: Sniffed = { family: f, mime: MIME[f] }
  if (f === 'webp') out.animated = ascii(head, 12, 'VP8X') && ((head[20] ?? 0) & 0x02) !== 0
  return out
}

/** Plain text has no NUL bytes in its first block. */
export function looksLikeText(head: Uint8Array): boolean {
  return !head.includes(0)
}
