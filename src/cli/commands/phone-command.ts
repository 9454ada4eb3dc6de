import { readFile } from 'node:fs/promises'
import { extname, join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { CliError, codedCause, usageError } from '../cli-error.js'

interface ControlTarget {
  url: string
  token?: string
}

interface GlobalFlags {
  control?: string
  dataDir?: string
}

const MIME_BY_EXTENSION: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.mp4': 'video/mp4',
  '.3gp': 'video/3gpp',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.aac': 'audio/aac',
  '.amr': 'audio/amr',
  '.m4a': 'audio/mp4',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
}

/** `wabox phone ...`: drives the simulated phones of a running instance through its control API. */
export function phoneCommand(): Command {
  const phone = new Command('phone')
    .description("drive a running instance's simulated phones")
    .option('--control <url>', 'control API base URL (default: control_url in <data-dir>/credentials.json)')
    .option('--data-dir <dir>', 'data directory of the running instance (WABOX_DATA_DIR, default ./wabox-data)')

  const call = async (cmd: Command, method: string, path: string, body?: unknown): Promise<unknown> => {
    const target = await resolveControl(cmd.optsWithGlobals<GlobalFlags>())
    return controlRequest(target, method, path, body)
  }
  const print = (value: unknown) => console.log(JSON.stringify(value, null, 2))
  const waIdOption = () => new Option('--wa-id <waId>', 'the phone').makeOptionMandatory()

  phone
    .command('create')
    .description('register new phones on the network')
    .option('--count <n>', 'how many', '1')
    .action(async (flags: { count: string }, cmd: Command) => print(await call(cmd, 'POST', '/control/phones', { count: Number(flags.count) })))

  phone
    .command('list')
    .description('list the phones')
    .action(async (_flags: unknown, cmd: Command) => print(await call(cmd, 'GET', '/control/phones')))

  phone
    .command('send')
    .description('send a message from a phone (one content flag)')
    .requiredOption('--from <waId>', 'sending phone')
    .requiredOption('--to <waId>', 'recipient (a business number)')
    .option('--text <text>', 'text message')
    .option('--image <file>', 'image file')
    .option('--video <file>', 'video file')
    .option('--audio <file>', 'audio file')
    .option('--document <file>', 'document file')
    .option('--sticker <file>', 'sticker file')
    .option('--caption <text>', 'caption for image, video or document')
    .option('--mime <type>', 'MIME type of the media file (default: from its extension)')
    .option('--location <lat,lng>', 'location')
    .option('--location-name <name>', 'name of the location')
    .option('--button <text:payload>', 'template quick-reply button')
    .option('--button-reply <id:title>', 'interactive reply button')
    .option('--list-reply <id:title>', 'interactive list row')
    .option('--reaction <msgId:emoji>', 'react to a message')
    .option('--reply-to <msgId>', 'quote a message (context)')
    .action(async (flags: SendFlags, cmd: Command) => print(await call(cmd, 'POST', `/control/phones/${flags.from}/send`, await sendBody(flags))))

  phone
    .command('inbox')
    .description('messages a phone received')
    .addOption(waIdOption())
    .option('--unread', 'only unread messages')
    .option('--json', 'one JSON object per line')
    .action(async (flags: { waId: string; unread?: boolean; json?: boolean }, cmd: Command) => {
      const { messages } = (await call(cmd, 'GET', `/control/phones/${flags.waId}/inbox${flags.unread ? '?unread=true' : ''}`)) as {
        messages: { id: string; from: string; receivedAt: number; readAt?: number; content?: { type?: string }; error?: string }[]
      }
      for (const m of messages) {
        if (flags.json) console.log(JSON.stringify(m))
        else console.log(`${new Date(m.receivedAt).toISOString()}  ${m.from}  ${m.id}  ${m.readAt ? 'read  ' : 'unread'}  ${m.error ?? summarize(m.content)}`)
      }
    })

  phone
    .command('read')
    .description('mark messages read (all unread when --ids is omitted)')
    .addOption(waIdOption())
    .option('--ids <ids>', 'comma-separated message ids')
    .action(async (flags: { waId: string; ids?: string }, cmd: Command) =>
      print(await call(cmd, 'POST', `/control/phones/${flags.waId}/read`, flags.ids ? { ids: flags.ids.split(',') } : {})),
    )

  for (const action of ['block', 'unblock', 'report'] as const) {
    phone
      .command(action)
      .description(`${action} a business`)
      .addOption(waIdOption())
      .requiredOption('--business <waId>', 'the business number')
      .action(async (flags: { waId: string; business: string }, cmd: Command) =>
        print(await call(cmd, 'POST', `/control/phones/${flags.waId}/${action}`, { business: flags.business })),
      )
  }

  for (const state of ['offline', 'online'] as const) {
    phone
      .command(state)
      .description(state === 'offline' ? 'disconnect the phone (messages queue on the network)' : 'reconnect the phone')
      .addOption(waIdOption())
      .action(async (flags: { waId: string }, cmd: Command) => print(await call(cmd, 'POST', `/control/phones/${flags.waId}/${state}`)))
  }

  phone
    .command('script')
    .description('set the reply script')
    .addOption(waIdOption())
    .addOption(new Option('--mode <mode>', 'reply mode').choices(['echo', 'fixed', 'none']).makeOptionMandatory())
    .option('--text <text>', 'the fixed reply')
    .action(async (flags: { waId: string; mode: string; text?: string }, cmd: Command) =>
      print(await call(cmd, 'PUT', `/control/phones/${flags.waId}/script`, { mode: flags.mode, ...(flags.text ? { text: flags.text } : {}) })),
    )

  return phone
}

interface SendFlags {
  from: string
  to: string
  text?: string
  image?: string
  video?: string
  audio?: string
  document?: string
  sticker?: string
  caption?: string
  mime?: string
  location?: string
  locationName?: string
  button?: string
  buttonReply?: string
  listReply?: string
  reaction?: string
  replyTo?: string
}

/** Builds the control API's send body from the CLI flags; exactly one content flag is allowed. */
export async function sendBody(flags: SendFlags): Promise<Record<string, unknown>> {
  const media = (['image', 'video', 'audio', 'document', 'sticker'] as const).filter((t) => flags[t])
  const given = [...media, ...(['text', 'location', 'button', 'buttonReply', 'listReply', 'reaction'] as const).filter((f) => flags[f] !== undefined)]
  if (given.length !== 1) throw usageError('give exactly one of --text, --image, --video, --audio, --document, --sticker, --location, --button, --button-reply, --list-reply, --reaction')
  const common = { to: flags.to, ...(flags.replyTo ? { replyTo: flags.replyTo } : {}) }
  const mediaType = media[0]
  if (mediaType) {
    const file = flags[mediaType]!
    const mimeType = flags.mime ?? MIME_BY_EXTENSION[extname(file).toLowerCase()]
    if (!mimeType) throw usageError(`cannot tell the MIME type of ${file}; pass --mime`)
    const data = (await readFile(file)).toString('base64')
    const filename = mediaType === 'document' ? file.split(/[\\/]/).at(-1) : undefined
    return { ...common, type: mediaType, data, mimeType, ...(flags.caption ? { caption: flags.caption } : {}), ...(filename ? { filename } : {}) }
  }
  if (flags.text !== undefined) return { ...common, type: 'text', text: flags.text }
  if (flags.location) {
    const [latitude, longitude] = flags.location.split(',').map(Number)
    if (!Number.isFinite(latitude) || !Number.isFinite(longitude)) throw usageError('--location takes LAT,LNG')
    return { ...common, type: 'location', latitude, longitude, ...(flags.locationName ? { name: flags.locationName } : {}) }
  }
  if (flags.button) {
    const [text, payload] = pair(flags.button, '--button', 'TEXT:PAYLOAD')
    return { ...common, type: 'button', text, payload }
  }
  if (flags.buttonReply) {
    const [id, title] = pair(flags.buttonReply, '--button-reply', 'ID:TITLE')
    return { ...common, type: 'button_reply', id, title }
  }
  if (flags.listReply) {
    const [id, title] = pair(flags.listReply, '--list-reply', 'ID:TITLE')
    return { ...common, type: 'list_reply', id, title }
  }
  // message ids may contain ':' only before the emoji, so split at the last one
  const at = flags.reaction!.lastIndexOf(':')
  if (at <= 0) throw usageError('--reaction takes MSGID:EMOJI')
  return { ...common, type: 'reaction', messageId: flags.reaction!.slice(0, at), emoji: flags.reaction!.slice(at + 1) }
}

function pair(value: string, flag: string, shape: string): [string, string] {
  const at = value.indexOf(':')
  if (at <= 0 || at === value.length - 1) throw usageError(`${flag} takes ${shape}`)
  return [value.slice(0, at), value.slice(at + 1)]
}

function summarize(content: { type?: string; text?: { body?: string } } | undefined): string {
  if (!content) return ''
  return content.type === 'text' ? JSON.stringify(content.text?.body ?? '') : `[${content.type}]`
}

/** `--control` wins; otherwise the running instance's `credentials.json` in the data directory. */
export async function resolveControl(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Promise<ControlTarget> {
  if (flags.control) return { url: flags.control.replace(/\/+$/, ''), token: env.WABOX_CONTROL_TOKEN }
  const dir = resolve(flags.dataDir ?? env.WABOX_DATA_DIR ?? 'wabox-data')
  const path = join(dir, 'credentials.json')
  let credentials: { control_url?: string; control_token?: string }
  try {
    credentials = JSON.parse(await readFile(path, 'utf8')) as typeof credentials
  } catch (err) {
    throw new Error(`cannot read ${path} (is wabox running with this --data-dir?): ${(err as Error).message}`, { cause: err })
  }
  if (!credentials.control_url) throw new Error(`${path} has no control_url`)
  return { url: credentials.control_url.replace(/\/+$/, ''), token: credentials.control_token }
}

export async function controlRequest(target: ControlTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (target.token) headers.authorization = `Bearer ${target.token}`
  const res = await fetch(target.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }).catch((err: unknown) => {
    // fetch says only 'fetch failed'; the reason is its cause
    const reason = codedCause(err)
    throw new CliError(`cannot reach the control API at ${target.url} (${reason.code ?? reason.message}): is wabox running? pass its --data-dir, or --control`, 1, { cause: err })
  })
  const text = await res.text()
  let json: unknown = null
  try {
    json = text ? JSON.parse(text) : null
  } catch {
    if (res.ok) throw new Error(`${method} ${path} answered non-JSON: ${text.slice(0, 200)}`)
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error
    throw new Error(`${method} ${path} → ${res.status} ${error?.code ?? ''}: ${error?.message ?? text}`)
  }
  return json
}
