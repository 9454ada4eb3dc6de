import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureHubBuilt } from './helpers/hub-build.js'
import { haveChromium, launch, NEW_PASSWORD, overflowX, shot } from './helpers/hub-browser.js'
import { eventually, startWabox, stopWabox, type WaboxProcess } from './helpers/wabox-process.js'
import { onPremText, WebhookReceiver } from './helpers/webhook-receiver.js'

/** A 1×1 PNG. */
const PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='

describe.skipIf(!haveChromium)('the Hub in a real browser against wabox start', { timeout: 60_000 }, () => {
  let dataDir: string
  let wabox: WaboxProcess
  let browser: Browser
  let page: Page
  const receiver = new WebhookReceiver()
  let business: string
  let phone: string
  const pageErrors: string[] = []

  beforeAll(async () => {
    ensureHubBuilt()
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wabox-hub-'))
    await receiver.start()
    wabox = await startWabox(dataDir, 2)
    business = wabox.creds.numbers[0]!.wa_id
    phone = wabox.creds.phones[0]!
    browser = await launch()
    // a context of its own: a second tab shares the session cookie
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
    // a step that cannot find its element fails with Playwright's message, before the test's own timeout
    page.setDefaultTimeout(20_000)
    page.on('pageerror', (err) => pageErrors.push(err.message))
    page.on('response', (res) => res.status() >= 400 && pageErrors.push(`${res.status()} ${res.request().method()} ${res.url()}`))
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    if (dataDir) await stopWabox(wabox, dataDir)
    await receiver.close()
  })

  const fromPhone = (text: string) => wabox.control('POST', `/control/phones/${phone}/send`, { type: 'text', to: business, text })

  it('signs in as admin, choosing a new password at the first sign-in', async () => {
    // the start banner says where the Hub is and how to sign in
    expect(wabox.stderr()).toContain(`Hub (web console): ${wabox.creds.api_url}/hub/ - sign in as admin with password secret`)
    await page.goto(`${wabox.creds.api_url}/hub/`)
    await page.getByLabel('Username').fill('admin')
    await page.getByLabel('Password', { exact: true }).fill(wabox.creds.admin.password ?? '')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByLabel('New password').fill(NEW_PASSWORD)
    await shot(page, 'login')
    await page.getByRole('button', { name: 'Change password and sign in' }).click()
    await page.getByRole('heading', { name: 'Numbers' }).waitFor()
    // signed out, the page's session check and the first sign-in were answered 401 as they should
    pageErrors.length = 0
  })

  it('shows the demo number healthy', async () => {
    await page.locator(`tr[data-number="${business}"] [data-health="healthy"]`).waitFor()
    await shot(page, 'numbers')
  })

  it('shows a message from phone 1 in the business conversation as it arrives', async () => {
    await page.getByRole('link', { name: 'Conversations' }).click()
    await page.getByRole('heading', { name: 'Conversations' }).waitFor()
    await fromPhone('hi')
    // no reload: the page hears of it over its event stream
    await page.locator('.bubble.in .body', { hasText: /^hi$/ }).waitFor()
  })

  it('replies from the console: the phone gets it and the ticks go to delivered, then read', async () => {
    await page.getByRole('button', { name: new RegExp(`\\+${phone}`) }).click()
    await page.getByLabel(`Message to +${phone}`).fill('Hello from the console')
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    const inbox = await eventually(async () => {
      const { messages } = await wabox.control('GET', `/control/phones/${phone}/inbox`) as { messages: { content?: { text?: { body?: string } } }[] }
      return messages.find((m) => m.content?.text?.body === 'Hello from the console')
    })
    expect(inbox).toBeDefined()
    const ticks = page.locator('.bubble.out', { hasText: 'Hello from the console' }).locator('[data-status="read"]')
    await ticks.waitFor()
    // the read tick lists every status with its time: delivered came first
    expect(await ticks.getAttribute('aria-label')).toMatch(/sent .*delivered .*read /)
    await shot(page, 'conversations')
    await page.setViewportSize({ width: 390, height: 844 })
    await shot(page, 'conversations-390px')
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('shows a picture from the phone as a thumbnail', async () => {
    await wabox.control('POST', `/control/phones/${phone}/send`, { type: 'image', to: business, data: PIXEL_PNG, mimeType: 'image/png', caption: 'the parcel' })
    const thumb = page.locator('.bubble.in', { hasText: 'the parcel' }).locator('img.thumb')
    await thumb.waitFor()
    // loaded from the number's media volume: the pixel's real width, not a broken image
    await page.waitForFunction((img) => {
      const loaded = img as unknown as { complete: boolean; naturalWidth: number }
      return loaded.complete && loaded.naturalWidth === 1
    }, await thumb.elementHandle())
  })

  it('marks a message from the phone read: its Mark read button goes at once', async () => {
    await fromPhone('please read me')
    const bubble = page.locator('.bubble.in', { hasText: 'please read me' })
    await bubble.getByRole('button', { name: 'Mark read' }).click()
    await bubble.getByRole('button', { name: 'Mark read' }).waitFor({ state: 'detached', timeout: 5000 })
  })

  it('refuses a new chat with something other than a phone number, and a blank message, saying why', async () => {
    await page.getByLabel('New chat with').fill('abc')
    await page.getByRole('button', { name: 'Open' }).click()
    await page.getByRole('alert').filter({ hasText: 'Not a phone number or wa_id: "abc"' }).waitFor()
    // the chat that was open stays open, the chat list as it was
    await page.getByRole('heading', { name: `+${phone}` }).waitFor()
    await page.getByRole('button', { name: new RegExp(`\\+${phone}`) }).waitFor()
    await page.getByRole('button', { name: 'Send', exact: true }).click()
    await page.getByRole('alert').filter({ hasText: 'Write a message first' }).waitFor()
  })

  it('keeps the chat and the chat list within the window when a message is one long word', async () => {
    await fromPhone('W'.repeat(4096))
    await page.locator('.bubble.in .body', { hasText: /^W{4096}$/ }).waitFor()
    expect(await overflowX(page)).toBeLessThanOrEqual(0)
    await page.setViewportSize({ width: 390, height: 844 })
    expect(await overflowX(page)).toBeLessThanOrEqual(0)
    // the Send button can be reached without scrolling sideways
    const send = await page.getByRole('button', { name: 'Send', exact: true }).boundingBox()
    expect(send!.x + send!.width).toBeLessThanOrEqual(390)
    await shot(page, 'conversations-long-word-390px')
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('shows the attempts of a failing webhook, and a replay that succeeds', async () => {
    receiver.answer = { status: 500, body: 'receiver is down' }
    await page.getByRole('link', { name: 'Webhooks' }).click()
    await page.getByLabel('Webhook URL').fill(receiver.url('/hook'))
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByText(/^Saved:/).waitFor()
    await fromPhone('order 42')
    const failed = page.locator('tr[data-seq]', { has: page.locator('[data-http-status="500"]'), hasText: 'receiver is down' }).first()
    await failed.waitFor()
    await shot(page, 'webhooks-failing')
    const seq = await failed.getAttribute('data-seq')
    receiver.answer = { status: 200, body: '' }
    await page.getByRole('button', { name: `Replay callback ${seq}` }).click()
    await page.locator(`tr[data-seq="${seq}"][data-state="done"]`).waitFor()
    await page.locator(`tr[data-seq="${seq}"] [data-http-status="200"]`).waitFor()
    await receiver.waitFor(onPremText(phone, 'order 42'))
    await shot(page, 'webhooks')
    // the other number's form shows its own URL, not the one just saved for the first
    const numberPick = page.getByRole('combobox', { name: 'Number' })
    await numberPick.selectOption({ index: 1 })
    await page.getByRole('table').getByText(`Callbacks of +${wabox.creds.numbers[1]!.wa_id}`).waitFor()
    expect(await page.getByLabel('Webhook URL').inputValue()).not.toBe(receiver.url('/hook'))
    expect(await page.getByText(/^Saved:/).count()).toBe(0)
    await numberPick.selectOption({ index: 0 })
  })

  it('submits a template and pauses it as Meta\'s review would (dev profile); sends one from a conversation', async () => {
    await page.getByRole('link', { name: 'Templates' }).click()
    await page.getByLabel('Name').fill('hub_order_ready')
    await page.getByLabel('Body').fill('Your order {{1}} is ready for pickup')
    // Meta's review needs a sample for {{1}}: the form asks for it
    await page.getByLabel('Example for {{1}}').fill('A-17')
    await page.getByRole('button', { name: 'Submit for review' }).click()
    // the dev network's review approves a well-formed template at once
    const status = page.locator('tr[data-template="hub_order_ready"] [data-status]')
    await page.locator('tr[data-template="hub_order_ready"] [data-status="APPROVED"]').waitFor()
    await page.getByRole('button', { name: 'Pause hub_order_ready' }).click()
    await page.locator('tr[data-template="hub_order_ready"] [data-status="PAUSED"]').waitFor()
    await page.getByRole('button', { name: 'Unpause hub_order_ready' }).click()
    await page.locator('tr[data-template="hub_order_ready"] [data-status="APPROVED"]').waitFor()
    expect(await status.textContent()).toBe('APPROVED')
    await shot(page, 'templates')
    // a template the engine has known since the start goes out from the conversation, its {{1}} filled
    await page.getByRole('link', { name: 'Conversations' }).click()
    await page.getByRole('button', { name: new RegExp(`\\+${phone}`) }).click()
    await page.getByText('Send a template').click()
    const select = page.getByRole('combobox', { name: /^Template/ })
    // the select shows the template Send would send, not a blank
    expect(await select.locator('option:checked').textContent()).toMatch(/\(en_US\)$/)
    await select.selectOption({ label: 'hello_world (en_US)' })
    await page.getByRole('button', { name: 'Send template' }).click()
    // its {{1}} left blank, it is not sent
    await page.getByRole('alert').filter({ hasText: 'Not sent: fill {{1}} in the body' }).waitFor()
    expect(await page.getByText('Sent hello_world').count()).toBe(0)
    await page.getByLabel('Body {{1}}').fill('Ann')
    await page.getByRole('button', { name: 'Send template' }).click()
    await page.getByText('Sent hello_world').waitFor()
    await page.locator('.bubble.out', { hasText: 'hello_world' }).locator('[data-status="delivered"], [data-status="read"]').waitFor()
  })

  it('shows the phones and the live charts', async () => {
    await page.getByRole('link', { name: 'Phones' }).click()
    await page.locator(`[data-phone="${phone}"]`).waitFor()
    // the phone shows what it decrypted, and the size of the ciphertext the network relayed
    await page.locator('.phone .bubble', { hasText: 'Hello from the console' }).locator('.envelope', { hasText: /\d+ B on the wire/ }).waitFor()
    await shot(page, 'phones')
    // block says it did, and offers unblock (the phone control API's) in its place
    await page.getByRole('button', { name: `Block +${business} on +${phone}` }).click()
    await page.getByRole('status').filter({ hasText: `+${phone} blocked +${business}` }).waitFor()
    await page.locator(`[data-phone="${phone}"]`, { hasText: 'blocked' }).waitFor()
    await page.getByRole('button', { name: `Unblock +${business} on +${phone}` }).click()
    await page.getByRole('status').filter({ hasText: `+${phone} unblocked +${business}` }).waitFor()
    await page.getByRole('button', { name: `Block +${business} on +${phone}` }).waitFor()
    await page.getByRole('link', { name: 'Live charts' }).click()
    await page.locator('figure.chart canvas').first().waitFor()
    await shot(page, 'charts')
    expect(pageErrors).toEqual([])
  })

  it('says it is offline while wabox is down, and shows the chats again once it is back (kill -9, start)', async () => {
    await page.getByRole('link', { name: 'Conversations' }).click()
    await page.getByRole('button', { name: new RegExp(`\\+${phone}`) }).waitFor()
    const port = new URL(wabox.creds.api_url).port
    const exited = new Promise((resolve) => wabox.child.once('exit', resolve))
    wabox.child.kill('SIGKILL')
    await exited
    await page.getByRole('alert').filter({ hasText: 'offline, retrying' }).waitFor()
    // pages opened while it is down say nothing wrong: no "Failed to fetch", no "No chats yet"
    await page.getByRole('link', { name: 'Webhooks' }).click()
    await page.getByRole('link', { name: 'Conversations' }).click()
    await shot(page, 'offline')
    expect(await page.getByText(/Failed to fetch|No chats yet/).count()).toBe(0)
    wabox = await startWabox(dataDir, 2, { args: ['--port', port] })
    // no reload of the page: the event stream opens again and the page re-reads
    await page.getByRole('button', { name: new RegExp(`\\+${phone}`) }).waitFor()
    await page.getByRole('alert').filter({ hasText: 'offline' }).waitFor({ state: 'detached' })
  })

  it('goes to the sign-in page in every tab when one tab signs out', async () => {
    const other = await page.context().newPage()
    await other.goto(`${wabox.creds.api_url}/hub/`)
    await other.getByRole('button', { name: 'Sign out admin' }).click()
    await other.getByRole('button', { name: 'Sign in' }).waitFor()
    // the first tab, left alone, is told its session ended and shows the sign-in form
    await page.getByText('Your session has ended').waitFor()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    await other.close()
  })
})
