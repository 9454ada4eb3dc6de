/**
 * Items by key, each group in the items' order (Node 21's Map.groupBy). One pass: appending to
 * a copy of the group per item made a 10,000-message group cost 50 million element copies.
 */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>()
  for (const item of items) {
    const key = keyOf(item)
    const group = groups.get(key)
    if (group) group.push(item)
    else groups.set(key, [item])
  }
  return groups
}
