import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'

const lint = new ESLint({ cwd: process.cwd() })

async function messages(code: string, file: string): Promise<string[]> {
  const [result] = await lint.lintText(code, { filePath: file })
  return (result?.messages ?? []).map((m) => m.message)
}

describe('clock guard lint rule', () => {
  it('forbids Date.now() and new Date() outside src/clock.ts', async () => {
    expect(await messages('export const t = Date.now()\n', 'src/domain/x.ts')).toEqual([expect.stringMatching(/injected Clock/)])
    expect(await messages('export const d = new Date()\n', 'src/store/x.ts')).toEqual([expect.stringMatching(/injected Clock/)])
  })

  it('allows converting a known instant and reading time in the clock itself', async () => {
    expect(await messages('export const d = new Date(0)\n', 'src/domain/x.ts')).toEqual([])
    expect(await messages('export const t = Date.now()\n', 'src/clock.ts')).toEqual([])
  })
})
