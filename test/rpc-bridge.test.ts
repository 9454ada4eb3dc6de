import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import type { CoreBridge } from '../src/domain/bridge.js'
import { OnPremCode, WaboxError } from '../src/errors/index.js'
import { httpBridge } from '../src/rpc/bridge-client.js'
import { RPC_PATH } from '../src/rpc/bridge-methods.js'
import { startBridgeServer, type BridgeServer } from '../src/rpc/bridge-server.js'
import { stalledRequest } from './helpers/stalled-request.js'

const SECRET = 'the-deployment-secret'

/** A CoreApp's answers, as far as these tests need them. */
function fakeCoreApp(calls: string[]): CoreBridge {
  const bridge: Partial<CoreBridge> = {
    requestCode: async (id) => {
      calls.push(`requestCode ${id}`)
      return { status: 'code_sent', vname: 'Acme' }
    },
    verify: async (id, code) => {
      if (code !== '123456') throw new WaboxError(OnPremCode.PARAMETER_INVALID, 'the code is wrong', { httpStatus: 400 })
      calls.push(`verify ${id}`)
    },
    setPin: async () => undefined,
    setShards: async () => undefined,
    markRead: async (id, messageId) => void calls.push(`markRead ${id} ${messageId}`),
    checkContacts: async (_id, inputs) => inputs.map((input) => ({ input, status: 'valid' as const, wa_id: input.replace(/\D/g, '') })),
    resolveUserId: async () => undefined,
    templates: async () => ({ namespace: 'ns', templates: [] }),
  }
  return bridge as CoreBridge
}

describe('the internal RPC between WebApp and CoreApp', () => {
  const calls: string[] = []
  let server: BridgeServer
  const downUrl = 'http://127.0.0.1:1'

  beforeAll(async () => {
    server = await startBridgeServer({
      bridge: fakeCoreApp(calls), secret: SECRET, host: '127.0.0.1', port: 0,
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'wabox_coreapp_shards_held{phone_number_id="111"} 1\n' }),
    })
  })
  afterAll(async () => {
    await server.close()
  })

  it('carries calls and answers to the node the router names, registration to the registrar', async () => {
    const routed: string[] = []
    const bridge = httpBridge({
      route: async (id, to) => {
        routed.push(`${id} ${to}`)
        return [server.url]
      },
      secret: async () => SECRET,
    })
    try {
      expect(await bridge.requestCode('111', { cc: '1', phoneNumber: '5550100', method: 'sms', cert: 'x' })).toEqual({ status: 'code_sent', vname: 'Acme' })
      expect(await bridge.checkContacts('111', ['+1 555 0001'], { blocking: true, forceCheck: false })).toEqual([{ input: '+1 555 0001', status: 'valid', wa_id: '15550001' }])
      await bridge.markRead('111', 'wamid.A')
      expect(calls).toEqual(['requestCode 111', 'markRead 111 wamid.A'])
      expect(routed).toEqual(['111 registrar', '111 owner', '111 owner'])
    } finally {
      await bridge.close()
    }
  })

  it('keeps a WaboxError\'s code, details and status across the wire', async () => {
    const bridge = httpBridge({ route: async () => [server.url], secret: async () => SECRET })
    try {
      const err = await bridge.verify('111', '000000').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(WaboxError)
      expect(err).toMatchObject({ code: OnPremCode.PARAMETER_INVALID, details: 'the code is wrong', httpStatusOverride: 400 })
    } finally {
      await bridge.close()
    }
  })

  it('skips a node that does not answer; with none left, 1018 Not Primary Coreapp, which clients retry', async () => {
    const bridge = httpBridge({ route: async () => [downUrl, server.url], secret: async () => SECRET })
    const nowhere = httpBridge({ route: async () => [downUrl], secret: async () => SECRET })
    const none = httpBridge({ route: async () => [], secret: async () => SECRET })
    try {
      await bridge.verify('222', '123456')
      expect(calls).toContain('verify 222')
      await expect(nowhere.templates('222')).rejects.toMatchObject({ code: OnPremCode.NOT_PRIMARY_COREAPP })
      await expect(none.templates('222')).rejects.toMatchObject({ code: OnPremCode.NOT_PRIMARY_COREAPP })
    } finally {
      await Promise.all([bridge.close(), nowhere.close(), none.close()])
    }
  })

  it('refuses callers without the shared secret, and unknown methods', async () => {
    const post = (authorization: string, body: unknown) => request(server.url + RPC_PATH, {
      method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body),
    })
    const before = calls.length
    expect((await post('Bearer wrong', { method: 'markRead', args: ['111', 'wamid.B'] })).statusCode).toBe(401)
    expect((await post('', { method: 'markRead', args: ['111', 'wamid.B'] })).statusCode).toBe(401)
    expect((await post(`Bearer ${SECRET}`, { method: 'constructor', args: [] })).statusCode).toBe(400)
    expect((await post(`Bearer ${SECRET}`, { method: 'markRead', args: 'no' })).statusCode).toBe(400)
    expect(calls.length).toBe(before)
    const wrong = httpBridge({ route: async () => [server.url], secret: async () => 'wrong' })
    try {
      await expect(wrong.markRead('111', 'wamid.C')).rejects.toThrow(/401/)
    } finally {
      await wrong.close()
    }
  })

  it('serves the node\'s Prometheus metrics at GET /metrics', async () => {
    const res = await request(server.url + '/metrics')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/plain')
    expect(await res.body.text()).toContain('wabox_coreapp_shards_held{phone_number_id="111"} 1')
  })
  it('answers 408 to a caller that stalls in the middle of its body', async () => {
    const slow = await startBridgeServer({ bridge: fakeCoreApp([]), secret: SECRET, host: '127.0.0.1', port: 0, timeouts: { requestMs: 300 } })
    try {
      const answer = await stalledRequest(Number(new URL(slow.url).port), RPC_PATH, 5_000, { authorization: `Bearer ${SECRET}` })
      expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    } finally {
      await slow.close()
    }
  })
})
