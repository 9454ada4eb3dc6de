import path from 'node:path'

/** A data-residency region as the operator configured it (`--region NAME=LOCATION`). */
export interface RegionConfig {
  /** Upper-case: `DE`, `BR` (the Cloud API's ISO 3166 codes) or an operator name such as `EU`. */
  readonly name: string
  /** `postgres://…` or `mysql://…`; unset for a SQLite region. */
  readonly url: string | undefined
  /** SQLite region: `<dir>/region.db`. */
  readonly sqlitePath: string | undefined
  /** Where the region's media files are kept. */
  readonly mediaRoot: string
}

export const REGION_NAME_RULE = "1 to 32 letters, digits or '-', starting with a letter or digit (case-insensitive)"
const REGION_RULE = `NAME=LOCATION, NAME being ${REGION_NAME_RULE} and LOCATION a postgres://, mysql:// URL or a directory`

/** A region name as stored (upper-case), or undefined when it is not one. */
export function regionName(raw: unknown): string | undefined {
  return typeof raw === 'string' && /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/.test(raw) ? raw.toUpperCase() : undefined
}

/** `--region` values, or WABOX_REGIONS split on the commas that start a new `NAME=`. */
function entries(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(/,(?=[A-Za-z0-9-]+=)/)).map((v) => v.trim()).filter(Boolean)
}

function split(entry: string, source: string, rule: string, fail: (message: string) => Error): [string, string] {
  const at = entry.indexOf('=')
  const name = regionName(entry.slice(0, Math.max(at, 0)))
  const value = entry.slice(at + 1)
  if (at <= 0 || !name || !value) throw fail(`Invalid ${source}=${JSON.stringify(redactUrl(entry))}: must be ${rule}`)
  return [name, value]
}

function redactUrl(entry: string): string {
  return entry.replace(/\/\/[^@/]*@/, '//<redacted>@')
}

/**
 * The configured regions: `regions` from `--region` (or WABOX_REGIONS), `media` from
 * `--region-media NAME=DIR` (or WABOX_REGION_MEDIA). A URL region keeps its media in
 * `<dataDir>/regions/NAME/media` unless `media` names a directory; a directory region in `<dir>/media`.
 */
export function resolveRegions(
  regions: { values: readonly string[]; source: string },
  media: { values: readonly string[]; source: string },
  dataDir: string,
  fail: (message: string) => Error,
): RegionConfig[] {
  const mediaRoots = new Map<string, string>()
  for (const entry of entries(media.values)) {
    const [name, dir] = split(entry, media.source, 'NAME=DIR', fail)
    mediaRoots.set(name, path.resolve(dir))
  }
  const out = new Map<string, RegionConfig>()
  for (const entry of entries(regions.values)) {
    const [name, location] = split(entry, regions.source, REGION_RULE, fail)
    if (out.has(name)) throw fail(`Invalid ${regions.source}: region ${name} is given twice`)
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(location)
    if (isUrl && !/^(postgres(ql)?|mysql):\/\//i.test(location)) throw fail(`Invalid ${regions.source}=${JSON.stringify(redactUrl(entry))}: must be ${REGION_RULE}`)
    const dir = isUrl ? undefined : path.resolve(location)
    out.set(name, {
      name,
      url: isUrl ? location : undefined,
      sqlitePath: dir && path.join(dir, 'region.db'),
      mediaRoot: mediaRoots.get(name) ?? (dir ? path.join(dir, 'media') : path.join(dataDir, 'regions', name, 'media')),
    })
  }
  for (const name of mediaRoots.keys()) {
    if (!out.has(name)) throw fail(`Invalid ${media.source}: region ${name} is not configured (add --region ${name}=LOCATION)`)
  }
  return [...out.values()]
}
