import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { phoneCommand, resolveControl, sendBody } from '../src/cli/commands/phone-command.js'
import { startNetworkServer } from '../src/network/index.js'
import { phoneControlRoutes } from '../src/phones/control-routes.js'
import { PhoneFleet } from '../src/phones/phone-fleet.js'
import type { InboxView } from '../src/phones/phone-messages.js'
import { waitFor } from './phones-helpers.js'

describe('wabox phone', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wabox-cli-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('finds the control API from --control or the data directory', async () => {
    expect(await resolveControl({ control: 'http://127.0.0.1:1/' }, {})).toEqual({ url: 'http://127.0.0.1:1', token: undefined })
    await writeFile(join(dir, 'credentials.json'), JSON.stringify({ control_url: 'http://127.0.0.1:2', control_token: 't0k' }))
    expect(await resolveControl({ dataDir: dir }, {})).toEqual({ url: 'http://127.0.0.1:2', token: 't0k' })
    expect(await resolveControl({}, { WABOX_DATA_DIR: dir })).toEqual({ url: 'http://127.0.0.1:2', token: 't0k' })
    await expect(resolveControl({ dataDir: join(dir, 'nope') }, {})).rejects.toThrow(/credentials.json/)
  })

  it('turns send flags into control API bodies', async () => {
    const base = { from: '15550000001', to: '15550009999' }
    expect(await sendBody({ ...base, text: 'hi', replyTo: 'wamid.q' })).toEqual({ to: base.to, type: 'text', text: 'hi', replyTo: 'wamid.q' })
    expect(await sendBody({ ...base, location: '52.5,13.4' })).toEqual({ to: base.to, type: 'location', latitude: 52.5, longitude: 13.4 })
    expect(await sendBody({ ...base, buttonReply: 'yes:Yes please' })).toEqual({ to: base.to, type: 'button_reply', id: 'yes', title: 'Yes please' })
    expect(await sendBody({ ...base, reaction: 'wamid.a:b:👍' })).toEqual({ to: base.to, type: 'reaction', messageId: 'wamid.a:b', emoji: '👍' })
    const png = join(dir, 'pic.png')
    await writeFile(png, 'not really a png')
    expect(await sendBody({ ...base, image: png, caption: 'look' })).toEqual({
      to: base.to,
      type: 'image',
      data: Buffer.from('not really a png').toString('base64'),
      mimeType: 'image/png',
      caption: 'look',
    })
    await expect(sendBody({ ...base, text: 'a', location: '1,2' })).rejects.toThrow(/exactly one/)
    await expect(sendBody({ ...base, location: 'north' })).rejects.toThrow(/LAT,LNG/)
    await expect(sendBody({ ...base, buttonReply: 'nocolon' })).rejects.toThrow(/ID:TITLE/)
  })

  it('has the documented subcommands', () => {
    const names = phoneCommand().commands.map((c) => c.name())
    expect(names).toEqual(expect.arrayContaining(['create', 'send', 'inbox', 'read', 'block', 'unblock', 'report', 'offline', 'online', 'script']))
  })

  it('drives a running instance end to end', async () => {
    let fleet: PhoneFleet | undefined
    const server = await startNetworkServer({
      dataDir: join(dir, 'network'),
      port: 0,
      controlToken: 'tok',
      logger: pino({ level: 'silent' }),
      register: async (app) => {
        await app.register(phoneControlRoutes, { fleet: () => fleet! })
      },
    })
    const lines: string[] = []
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line))
    try {
      fleet = await PhoneFleet.open({ dataDir: dir, networkUrl: server.wsUrl, codeSource: (cc, phone) => server.lastCode(cc, phone) })
      await writeFile(join(dir, 'credentials.json'), JSON.stringify({ control_url: server.url, control_token: 'tok' }))
      const wabox = (...args: string[]) => new Command('wabox').addCommand(phoneCommand()).parseAsync(['node', 'wabox', 'phone', '--data-dir', dir, ...args])

      await wabox('create', '--count', '2')
      expect(JSON.parse(lines.join('\n')).phones).toHaveLength(2)
      const arrived = waitFor<InboxView>(fleet.get('15550000002')!, 'message')
      await wabox('send', '--from', '15550000001', '--to', '15550000002', '--text', 'from the CLI')
      await arrived
      lines.length = 0
      await wabox('inbox', '--wa-id', '15550000002', '--json')
      expect(lines.map((l) => JSON.parse(l) as InboxView).map((m) => m.content)).toMatchObject([{ type: 'text', text: { body: 'from the CLI' } }])
      await expect(wabox('send', '--from', '15559999999', '--to', '15550000002', '--text', 'x')).rejects.toThrow(/404 not_found/)
    } finally {
      log.mockRestore()
      await fleet?.close()
      await server.close()
    }
  })
})
