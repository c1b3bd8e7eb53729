// A smoke run of the benchmark script: it runs end to end and reports every figure. The figures
// themselves are not asserted (these machines are noisy); BENCHMARKS.md records a full run.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

describe('npm run bench', () => {
  it('measures a small export and prints the tables', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-'))
    const out = path.join(dir, 'result.json')
    const tsx = new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url).pathname
    const { stdout } = await promisify(execFile)(process.execPath, [tsx, 'scripts/bench.ts', '--quick', '--out', out, '--dir', dir], {
      cwd: new URL('..', import.meta.url).pathname,
      timeout: 120_000
    })
    expect(stdout).toContain('## Download (peak memory, speed against curl on the same TLS loopback)')
    const result = JSON.parse(readFileSync(out, 'utf8'))
    expect(result.sizes).toHaveLength(1)
    expect(result.sizes[0]).toMatchObject({ sizeMiB: 16 })
    for (const key of ['actionPeakRssMiB', 'actionReceiveS', 'curlS', 'coldStartMs', 'naivePeakRssMiB']) {
      expect(result.sizes[0][key], key).toBeGreaterThan(0)
    }
    expect(result.polling[0]).toMatchObject({ exportS: 3 })
    expect(result.polling[0].actionPolls).toBeGreaterThan(0)
    expect(result.rezip[0].level6Bytes).toBeGreaterThan(0)
  }, 150_000)
})
