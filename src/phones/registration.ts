import type { Logger } from 'pino'
import { NetworkClient } from '../wire/client.js'
import type { RegisterVerifyResult } from '../wire/frames.js'
import type { PhoneOptions } from './phone-options.js'
import type { PhoneStorage } from './phone-storage.js'

/** Registers a new phone on the network (request a code, read it, verify) and saves its profile in `storage`. */
export async function registerPhone(opts: PhoneOptions, storage: PhoneStorage, logger: Logger): Promise<void> {
  if (!opts.register) throw new Error(`${opts.dir} holds no phone and no registration details were given`)
  const { cc, phone, codeSource } = opts.register
  const client = new NetworkClient({ url: opts.networkUrl, clock: opts.clock, reconnect: false, logger })
  try {
    await client.connect()
    await client.request({ t: 'register.request', cc, phone, method: 'sms' })
    const code = await codeSource(cc, phone)
    if (!code) throw new Error(`no verification code for +${cc}${phone}`)
    const { waId, password } = await client.request<RegisterVerifyResult>({ t: 'register.verify', cc, phone, code })
    await storage.saveProfile({
      waId,
      cc,
      phone,
      password,
      profileName: opts.register.profileName ?? `Phone ${phone.slice(-4)}`,
      script: { mode: 'none' },
      autoDeliver: true,
      autoReadDelayMs: opts.autoReadDelayMs === undefined ? 0 : opts.autoReadDelayMs,
      blocked: [],
      offline: false,
    })
  } finally {
    await client.close()
  }
}
