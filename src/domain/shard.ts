const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
const utf8 = new TextEncoder()

/** 32-bit FNV-1a over the UTF-8 bytes of `text`, as an unsigned integer. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET
  for (const byte of utf8.encode(text)) {
    hash = Math.imul(hash ^ byte, FNV_PRIME)
  }
  return hash >>> 0
}

/** The shard (0..shards-1) that owns traffic with `counterpartyWaId` (On-Prem multiconnect). */
export function shardOf(counterpartyWaId: string, shards: number): number {
  return fnv1a32(counterpartyWaId) % shards
}
