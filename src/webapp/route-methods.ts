/**
 * The methods each registered path takes, so that a request the router cannot match is told
 * apart: a known path with another method is 405 (with `Allow`), anything else 404.
 */
export class RouteMethods {
  /** by the pattern's source */
  readonly #routes = new Map<string, { pattern: RegExp; methods: Set<string> }>()

  /** `url` in the router's syntax: `:name` is one path segment, `*` the rest of the path. */
  add(url: string, methods: string | string[]): void {
    const source = url.split(/(:[A-Za-z0-9_]+|\*)/).map((part) =>
      part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('')
    let route = this.#routes.get(source)
    if (!route) this.#routes.set(source, (route = { pattern: new RegExp(`^${source}$`), methods: new Set() }))
    for (const m of [methods].flat()) route.methods.add(m.toUpperCase())
  }

  /** The methods `path` (without its query) takes; empty when no route has that path. */
  allowed(path: string): string[] {
    const methods = new Set<string>()
    for (const r of this.#routes.values()) if (r.pattern.test(path)) r.methods.forEach((m) => methods.add(m))
    return [...methods]
  }
}
