import { defineConfig } from 'vitest/config'

// `npm run test:unit`: the sources with fakes and in-process loopback servers only — no bundle is
// built, no child process, no Azurite, no external tool. The files that need any of those run in
// `npm test` (vitest.config.ts), which runs every file, these included.
export const UNIT_TESTS = [
  'artifact',
  'cli-words',
  'client',
  'docs',
  'download',
  'engine',
  'evidence-action',
  'export-contents',
  'inputs',
  'job-results',
  'layout',
  'poller',
  'previous',
  'setting-ref',
  'summary',
  'untrusted',
  'windows-paths'
].map(name => `__tests__/${name}.test.ts`)

export default defineConfig({
  test: {
    include: UNIT_TESTS,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file runs in its own process: some tests change the process-wide TLS trust store.
    pool: 'forks'
  }
})
