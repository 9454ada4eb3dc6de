import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const clockGuard = {
  selector: "NewExpression[callee.name='Date'][arguments.length=0], CallExpression[callee.object.name='Date'][callee.property.name='now']",
  message: 'Read time from the injected Clock (src/clock.ts), not Date.now() / new Date().',
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
)
