import { fileURLToPath } from 'node:url'
import preact from '@preact/preset-vite'
import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))

/** The Hub's front end: built into dist/hub, served by wabox at /hub/ (src/webapp/hub). */
export default defineConfig({
  root,
  base: '/hub/',
  plugins: [preact()],
  build: {
    outDir: fileURLToPath(new URL('../dist/hub', import.meta.url)),
    emptyOutDir: true,
    // the strict CSP allows no inline script: no module preload polyfill, no inlined assets
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
})
