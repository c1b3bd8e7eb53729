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
    expect(stdout).toContain('## Download (peak memory, speed against curl on the same TLS loopback; median (min–max) of 1 runs)')
    const result = JSON.parse(readFileSync(out, 'utf8'))
    expect(stdout).toContain('## Many entries (against unzip on the same file; median (min–max) of 1 runs)')
    // Over loopback, then over the paced 1 Gbit/s link (back-pressured), then over the link that does
    // not wait for the reader, each against curl on the same link.
    expect(result.sizes.map((r: { sizeMiB: number; paced: boolean; link?: boolean }) => [r.sizeMiB, r.paced, !!r.link])).toEqual([
      [16, false, false],
      [16, true, false],
      [16, true, true]
    ])
    for (const row of result.sizes) {
      for (const key of ['peakRssMiB', 'receiveS', 'curlS', 'overCurl', 'coldStartMs']) expect(row.runs[0][key], key).toBeGreaterThan(0)
    }
    expect(stdout).toContain('| 16 MiB, 1 Gbit/s link (back-pressured) |')
    expect(stdout).toContain('| 16 MiB, 1 Gbit/s link that does not wait |')
    expect(result.sizes[0].naivePeakRssMiB).toBeGreaterThan(0)
    // The many-entry cases: checked against unzip -t, extracted against unzip, on the same file.
    expect(result.entries.map((r: { entries: number; extract: boolean }) => [r.entries, r.extract])).toEqual([
      [2000, false],
      [2000, true]
    ])
    for (const row of result.entries) {
      for (const key of ['peakRssMiB', 'receiveS', 'unzipS', 'overUnzip']) expect(row.runs[0][key], key).toBeGreaterThan(0)
    }
    expect(result.entries[1].runs[0].extractS).toBeGreaterThan(0)
    expect(result.polling[0]).toMatchObject({ exportS: 3 })
    expect(result.polling[0].actionPolls).toBeGreaterThan(0)
    expect(result.rezip[0].level6Bytes).toBeGreaterThan(0)
  }, 150_000)
})
