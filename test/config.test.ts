import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, resolveConfig } from '../src/config/config.js'

describe('configuration', () => {
  it('uses defaults when nothing is set, and the result is frozen', () => {
    const c = resolveConfig({})
    expect(c.dataDir).toBe(path.resolve('wabox-data'))
    expect(c.port).toBe(9090)
    expect(c.http).toBe(false)
    expect(c.databaseUrl).toBeUndefined()
    expect(Object.isFrozen(c)).toBe(true)
  })

  it('flags win over environment variables', () => {
    const c = resolveConfig({ WABOX_PORT: '8000', WABOX_HTTP: 'false' }, { port: '8001', http: true })
    expect(c.port).toBe(8001)
    expect(c.http).toBe(true)
  })

  it('an invalid value names the variable and the rule', () => {
    expect(() => resolveConfig({ WABOX_PORT: 'abc' })).toThrow(new ConfigError('Invalid WABOX_PORT="abc": must be an integer from 0 to 65535'))
    expect(() => resolveConfig({}, { port: '70000' })).toThrow(/--port.*integer from 0 to 65535/)
    expect(() => resolveConfig({ WABOX_DATABASE_URL: 'sqlite://x' })).toThrow(/WABOX_DATABASE_URL="<redacted>": must be a postgres:\/\/, postgresql:\/\/ or mysql:\/\//)
    expect(resolveConfig({ WABOX_DATABASE_URL: 'mysql://root@127.0.0.1:3306/wabox' }).databaseUrl).toBe('mysql://root@127.0.0.1:3306/wabox')
  })

  it('takes the database timeout in seconds, 1 to 3600; unset leaves the store its default', () => {
    expect(resolveConfig({}).databaseTimeout).toBeUndefined()
    expect(resolveConfig({ WABOX_DATABASE_TIMEOUT: '90' }).databaseTimeout).toBe(90)
    expect(resolveConfig({ WABOX_DATABASE_TIMEOUT: '90' }, { databaseTimeout: '5' }).databaseTimeout).toBe(5)
    expect(() => resolveConfig({ WABOX_DATABASE_TIMEOUT: '0' })).toThrow(new ConfigError('Invalid WABOX_DATABASE_TIMEOUT="0": must be seconds from 1 to 3600'))
  })

  it('logs JSON lines unless told pretty', () => {
    expect(resolveConfig({}).logFormat).toBe('json')
    expect(resolveConfig({ WABOX_LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty')
    expect(() => resolveConfig({}, { logFormat: 'xml' })).toThrow(new ConfigError('Invalid --log-format="xml": must be json or pretty'))
  })

  it('accepts a master key as hex or base64 and rejects other lengths without echoing it', () => {
    const hex = 'ab'.repeat(32)
    expect(resolveConfig({ WABOX_MASTER_KEY: hex }).masterKey?.toString('hex')).toBe(hex)
    expect(resolveConfig({ WABOX_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }).masterKey?.length).toBe(32)
    expect(() => resolveConfig({ WABOX_MASTER_KEY: 'short' })).toThrow(/WABOX_MASTER_KEY="<redacted>": must be 32 bytes/)
  })
})
