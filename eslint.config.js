import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const clockGuard = {
  selector: "NewExpression[callee.name='Date'][arguments.length=0], CallExpression[callee.object.name='Date'][callee.property.name='now']",
  message: 'Read time from the injected Clock (src/clock.ts), not Date.now() / new Date().',
}

/**
 * The "may depend on" column of ARCHITECTURE.md as import bans per folder of src/. Imports are
 * relative, so a ban is written for each depth a file can sit at: from `src/webapp/onprem/x.ts`
 * the folder `src/wire` is `../../wire/`. Folders not listed (cli) may import anything.
 */
const SRC_FOLDERS = ['config', 'errors', 'domain', 'store', 'wire', 'signal', 'media', 'network', 'phones', 'coreapp', 'webhooks', 'webapp', 'rpc', 'cli']
const BOUNDARIES = {
  config: { deny: SRC_FOLDERS, why: 'config/ depends on nothing' },
  errors: { deny: SRC_FOLDERS.filter((f) => f !== 'errors'), why: 'errors/ depends on nothing' },
  // domain/ is pure: errors, clock and ids only
  domain: { deny: SRC_FOLDERS.filter((f) => f !== 'errors' && f !== 'domain'), files: ['sqlite', 'private-files'], why: 'domain/ depends on errors/, clock and ids only' },
  store: { deny: ['webapp', 'coreapp', 'webhooks', 'wire', 'network', 'phones', 'signal', 'media', 'cli'], why: 'store/ depends on domain/' },
  wire: { deny: ['store', 'signal', 'media', 'network', 'phones', 'coreapp', 'webhooks', 'webapp', 'cli'], why: 'wire/ depends on domain/' },
  // signal/ builds and reads the wire's pre-key bundle and media reference shapes
  signal: { deny: ['media', 'network', 'phones', 'coreapp', 'webhooks', 'webapp', 'cli'], why: 'signal/ depends on store/ (and the wire shapes of keys and media)' },
  media: { deny: ['wire', 'signal', 'network', 'phones', 'coreapp', 'webhooks', 'webapp', 'cli'], why: 'media/ depends on store/' },
  network: { deny: ['webapp', 'coreapp', 'webhooks', 'store', 'media', 'cli'], why: 'network/ shares nothing with the business side but wire/, signal/ and domain/' },
  phones: { deny: ['webapp', 'coreapp', 'webhooks', 'store', 'media', 'cli'], why: 'phones/ shares nothing with the business side but wire/ and signal/' },
  coreapp: { deny: ['webapp', 'webhooks', 'network', 'phones', 'cli'], why: 'coreapp/ meets the WebApp in store/ and the CoreBridge of domain/' },
  webhooks: { deny: ['webapp', 'coreapp', 'wire', 'network', 'phones', 'signal', 'media', 'cli'], why: 'webhooks/ depends on domain/ and store/' },
  webapp: { deny: ['coreapp', 'wire', 'webhooks', 'network', 'phones', 'signal', 'cli'], why: 'webapp/ gets the webhook service and the bridge injected (src/cli wires them)' },
  rpc: { deny: SRC_FOLDERS.filter((f) => !['errors', 'domain', 'rpc'].includes(f)), files: ['sqlite', 'private-files'], why: 'rpc/ carries the CoreBridge of domain/; what it needs is injected' },
}

/** One `files` block per depth (src/F/x.ts, src/F/a/x.ts, …) banning `deny` folders and top-level `files`. */
function boundary(folder, { deny, files = [], why }) {
  const folders = deny.length ? `(${deny.join('|')})/` : null
  const tops = files.length ? `(${files.join('|')})\\.js$` : null
  return [1, 2, 3].map((depth) => ({
    files: [`src/${folder}/${'*/'.repeat(depth - 1)}*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [folders, tops].filter(Boolean).map((target) => ({
          regex: `^${'\\.\\./'.repeat(depth)}${target}`,
          message: `${why} (ARCHITECTURE.md, "may depend on"): inject what you need, or move it down.`,
        })),
      }],
    },
  }))
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'wabox-data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', clockGuard],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['src/clock.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  ...Object.entries(BOUNDARIES).flatMap(([folder, rule]) => boundary(folder, rule)),
)
