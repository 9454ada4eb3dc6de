/**
 * Splits the rows (or ids) of a multi-row statement into parts of 2^k, at most `max`. Each row
 * count is a SQL text of its own to prepare; with power-of-two parts a statement has a dozen
 * texts instead of hundreds, so the prepared-statement cache keeps them all.
 */
export function statementChunks<T>(items: readonly T[], max: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; ) {
    const size = Math.min(max, 2 ** Math.floor(Math.log2(items.length - i)))
    out.push(items.slice(i, (i += size)))
  }
  return out
}
