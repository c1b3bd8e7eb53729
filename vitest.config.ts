import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__tests__/**/*.test.ts'],
    globalSetup: ['__fixtures__/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file runs in its own process: some tests change the process-wide TLS trust store.
    pool: 'forks',
    // Most files wait on simulators and child processes, not the CPU: three run at a time, also on
    // a 2-core machine (where vitest's default is one).
    maxWorkers: 3
  }
})
