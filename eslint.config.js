// Lint: ESLint's and typescript-eslint's recommended rules, type-aware for the code that ships.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tmp/', 'build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }] } },
  {
    files: ['src/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeCheckedOnly],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Errors are thrown as Error subclasses; a rejected promise from the toolkit may carry anything.
      '@typescript-eslint/only-throw-error': 'error'
    }
  },
  {
    // The export engine knows no host: no GitHub toolkit, no front end.
    files: ['src/engine/**/*.ts', 'src/base/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@actions/*'], message: 'The engine is host-free: report through ExportHost instead.' }, { group: ['**/action/*', '**/cli/*'], message: 'The engine must not import a front end.' }] }
      ]
    }
  },
  {
    // The octoplant client uses @actions/http-client for HTTP (proxies), and nothing else of the toolkit.
    files: ['src/octoplant/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@actions/*', '!@actions/http-client'], message: 'Only @actions/http-client below the front ends.' }, { group: ['**/engine/*', '**/action/*', '**/cli/*'], message: 'The client is a layer below the engine.' }] }
      ]
    }
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', fetch: 'readonly', performance: 'readonly', Buffer: 'readonly', setTimeout: 'readonly' } }
  }
)
