import { describe, expect, it } from 'vitest'
import { resolveWebhookTarget, webhookFieldOf, type WebhookRoutes } from '../src/domain/webhook-target.js'
import { statusEvent, textEvent } from './webhooks-harness.js'

const app = { url: 'https://app.example.com/hook', verifyToken: 'a', fields: ['messages', 'message_template_status_update'] }
const waba = { url: 'https://waba.example.com/hook', verifyToken: 'w' }
const phone = { url: 'https://phone.example.com/hook', verifyToken: 'p' }
const none: WebhookRoutes = { app: null, waba: null, phone: null, numberSetting: null }

describe('where a Cloud notification goes', () => {
  it('messages: the phone override, else the WABA override, else the app subscription', () => {
    expect(resolveWebhookTarget('messages', { ...none, app, waba, phone })).toEqual({ level: 'phone', url: phone.url })
    expect(resolveWebhookTarget('messages', { ...none, app, waba })).toEqual({ level: 'waba', url: waba.url })
    expect(resolveWebhookTarget('messages', { ...none, app })).toEqual({ level: 'app', url: app.url })
  })

  it('other fields: the WABA override, else the app, never the phone override', () => {
    const field = 'message_template_status_update'
    expect(resolveWebhookTarget(field, { ...none, app, waba, phone })).toEqual({ level: 'waba', url: waba.url })
    expect(resolveWebhookTarget(field, { ...none, app, phone })).toEqual({ level: 'app', url: app.url })
    expect(resolveWebhookTarget(field, { ...none, phone })).toBeUndefined()
    expect(resolveWebhookTarget('phone_number_quality_update', { ...none, waba, phone })).toEqual({ level: 'waba', url: waba.url })
  })

  it('the app subscription decides the fields: one it does not list goes nowhere, overrides included', () => {
    expect(resolveWebhookTarget('account_update', { ...none, app })).toBeUndefined()
    expect(resolveWebhookTarget('account_update', { ...none, app, waba })).toBeUndefined()
    const onlyTemplates = { ...app, fields: ['message_template_status_update'] }
    expect(resolveWebhookTarget('messages', { ...none, app: onlyTemplates, phone, numberSetting: 'https://setting.example.com/' })).toBeUndefined()
    // without an app subscription, overrides take every field they may take
    expect(resolveWebhookTarget('account_update', { ...none, waba })).toEqual({ level: 'waba', url: waba.url })
  })

  it('with no subscription at any level, the number\'s own webhook URL setting; else nowhere', () => {
    const numberSetting = 'https://setting.example.com/hook'
    expect(resolveWebhookTarget('messages', { ...none, numberSetting })).toEqual({ level: 'number_setting', url: numberSetting })
    expect(resolveWebhookTarget('messages', { ...none, phone, numberSetting })).toEqual({ level: 'phone', url: phone.url })
    expect(resolveWebhookTarget('messages', none)).toBeUndefined()
  })

  it('every event the outbox holds today is a messages notification', () => {
    expect(webhookFieldOf(textEvent('m', 'hi'))).toBe('messages')
    expect(webhookFieldOf(statusEvent('s'))).toBe('messages')
    expect(webhookFieldOf({ type: 'error', errors: [] })).toBe('messages')
    expect(webhookFieldOf({ type: 'contacts', contacts: [] })).toBe('messages')
  })
})
