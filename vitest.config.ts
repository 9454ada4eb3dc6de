import { defineConfig } from 'vitest/config'

const report = process.env.WABOX_TEST_REPORT

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // CI also writes a JSON report to count passed and failed tests.
    ...(report ? { reporters: ['default', 'json'], outputFile: { json: report } } : {}),
  },
})
