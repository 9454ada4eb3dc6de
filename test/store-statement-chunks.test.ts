import { expect, it } from 'vitest'
import { statementChunks } from '../src/store/statement-chunks.js'

it('splits rows into power-of-two parts no larger than the cap, keeping every row once and in order', () => {
  const rows = Array.from({ length: 1300 }, (_, i) => i)
  const parts = statementChunks(rows, 512)
  expect(parts.map((p) => p.length)).toEqual([512, 512, 256, 16, 4])
  expect(parts.flat()).toEqual(rows)
  expect(statementChunks([], 512)).toEqual([])
  expect(statementChunks([1, 2, 3], 2).map((p) => p.length)).toEqual([2, 1])
})
