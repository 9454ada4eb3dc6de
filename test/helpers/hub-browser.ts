import fs from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'

/** The Hub's browser tests: Debian's Chromium driven by playwright-core against `wabox start --http`. */
export const CHROMIUM = '/usr/bin/chromium'
export const SHOTS = path.resolve('test-output/hub')
/** What the tests choose as admin's password at the first sign-in. */
export const NEW_PASSWORD = 'Hub-Test-Pass1'

export const haveChromium = fs.existsSync(CHROMIUM)
if (!haveChromium) {
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (.ci/run does) to run the Hub's browser test`)
  console.warn(`\n!!! ${CHROMIUM} is missing: the Hub's browser test is SKIPPED (apt-get install -y chromium) !!!\n`)
}

/** Headless Chromium with nothing running in the background (no network of its own, no updates). */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })
}

/** How much wider than the window the page is (0 when nothing sticks out sideways). */
export function overflowX(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')
}
