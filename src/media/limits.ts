import { OnPremCode, WaboxError } from '../errors/index.js'
import { looksLikeText, sniff, type Sniffed, type SniffedFamily } from './sniff.js'

/** Upload categories of onprem-api.md §4 (stickers are WebP images). */
export type MediaCategory = 'audio' | 'document' | 'image' | 'video' | 'sticker'

const KB = 1024
const MB = 1024 * 1024

/** Largest upload accepted at all (On-Prem 100 MB). */
export const MAX_MEDIA_BYTES = 100 * MB

export const CATEGORY_LIMITS: Readonly<Record<MediaCategory, number>> = {
  audio: 16 * MB,
  document: 100 * MB,
  image: 5 * MB,
  video: 16 * MB,
  sticker: 100 * KB,
}

/** Animated stickers may be larger; they are stored but On-Prem cannot send them. */
export const ANIMATED_STICKER_LIMIT = 500 * KB

/** Uploaded media (POST /v1/media) is kept 30 days, as the On-Prem client did (onprem-api.md §4); housekeeping then purges it. */
export const UPLOADED_MEDIA_TTL_MS = 30 * 24 * 60 * 60 * 1000

/** Declared type → the content families that may carry it. */
const MEDIA_TYPES: Record<string, { category: MediaCategory; families: SniffedFamily[] }> = {
  'image/jpeg': { category: 'image', families: ['jpeg'] },
  'image/png': { category: 'image', families: ['png'] },
  'image/webp': { category: 'sticker', families: ['webp'] },
  'audio/aac': { category: 'audio', families: ['aac', 'mp4'] },
  'audio/mp4': { category: 'audio', families: ['mp4', '3gp'] },
  'audio/amr': { category: 'audio', families: ['amr'] },
  'audio/mpeg': { category: 'audio', families: ['mp3'] },
  'audio/ogg': { category: 'audio', families: ['ogg'] },
  'video/mp4': { category: 'video', families: ['mp4', '3gp'] },
  'video/3gpp': { category: 'video', families: ['3gp', 'mp4'] },
  'video/3gp': { category: 'video', families: ['3gp', 'mp4'] },
}

/** Documents whose container format is known: the content must match. */
const DOCUMENT_FAMILIES: Record<string, SniffedFamily[]> = {
  'application/pdf': ['pdf'],
  'application/msword': ['ole'],
  'application/vnd.ms-excel': ['ole'],
  'application/vnd.ms-powerpoint': ['ole'],
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': ['zip'],
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': ['zip'],
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': ['zip'],
  'application/zip': ['zip'],
}

/**
 * The only types the Cloud API takes as uploads (cloud-api.md §2); On-Prem also takes other
 * documents. Each is checked against the content and limited as above.
 */
export const CLOUD_MEDIA_TYPES: readonly string[] = [
  'audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg',
  'text/plain', 'application/pdf', 'application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'image/jpeg', 'image/png', 'image/webp',
  'video/mp4', 'video/3gp', 'video/3gpp',
]

const TOKEN = /^[a-z0-9!#$&^_.+-]+$/

export interface ParsedMime {
  /** `type/subtype`, lower case. */
  essence: string
  /** What is stored and served back: the essence, plus `codecs` for audio/ogg. */
  normalized: string
}

/** Parses a Content-Type header; undefined when it is not a syntactically valid MIME type. */
export function parseMime(contentType: string | undefined): ParsedMime | undefined {
  if (!contentType) return undefined
  const [main = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase())
  const [type, subtype, extra] = main.split('/')
  if (!type || !subtype || extra !== undefined || !TOKEN.test(type) || !TOKEN.test(subtype)) return undefined
  const essence = `${type}/${subtype}`
  const codecs = params.find((p) => p.startsWith('codecs='))
  return { essence, normalized: essence === 'audio/ogg' && codecs ? `${essence}; ${codecs.replace(/"/g, '')}` : essence }
}

export function categoryOf(essence: string): MediaCategory {
  return MEDIA_TYPES[essence]?.category ?? 'document'
}

export interface MediaVerdict {
  category: MediaCategory
  maxBytes: number
  sniffed: Sniffed | undefined
}

function invalid(details: string): WaboxError {
  return new WaboxError(OnPremCode.PARAMETER_INVALID, details)
}

/**
 * Checks the first bytes of an upload against its declared type and gives the size limit.
 * Throws 1009 naming the declared type and what the content really is.
 */
export function checkMedia(declared: ParsedMime, head: Uint8Array): MediaVerdict {
  const { essence } = declared
  const sniffed = sniff(head)
  const known = MEDIA_TYPES[essence]
  const seen = sniffed ? `${sniffed.mime} content` : 'content of an unrecognised format'
  if (essence === 'audio/ogg' && declared.normalized !== essence && !declared.normalized.endsWith('codecs=opus')) {
    throw invalid(`Content-Type: audio/ogg is only supported with codecs=opus, got '${declared.normalized}'`)
  }
  if (known) {
    if (!sniffed || !known.families.includes(sniffed.family)) {
      throw invalid(`Content-Type: declared ${essence} but the body is ${seen}`)
    }
    const maxBytes = known.category === 'sticker' && sniffed.animated ? ANIMATED_STICKER_LIMIT : CATEGORY_LIMITS[known.category]
    return { category: known.category, maxBytes, sniffed }
  }
  const families = DOCUMENT_FAMILIES[essence]
  if (families && (!sniffed || !families.includes(sniffed.family))) {
    throw invalid(`Content-Type: declared ${essence} but the body is ${seen}`)
  }
  if (essence === 'text/plain' && (sniffed || !looksLikeText(head))) {
    throw invalid(`Content-Type: declared text/plain but the body is ${sniffed ? seen : 'binary'}`)
  }
  if (essence.startsWith('image/') || essence.startsWith('audio/') || essence.startsWith('video/')) {
    // e.g. image/gif: sendable only as a document, and only if it is what it claims
    if (sniffed && sniffed.mime.split('/')[0] !== essence.split('/')[0]) {
      throw invalid(`Content-Type: declared ${essence} but the body is ${seen}`)
    }
  }
  return { category: 'document', maxBytes: CATEGORY_LIMITS.document, sniffed }
}

/** Human-readable size for error details. */
export function formatBytes(n: number): string {
  if (n >= MB && n % MB === 0) return `${n / MB} MB`
  if (n >= KB && n % KB === 0) return `${n / KB} KB`
  return `${n} bytes`
}
