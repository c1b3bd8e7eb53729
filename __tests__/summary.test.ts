import { describe, expect, it } from 'vitest'
import { formatBytes, formatRate } from '../src/base/format.js'
import { EVIDENCE_FILES, evidenceFiles } from '../src/engine/evidence/files.js'
import { evidenceOutputs } from '../src/shared/outputs.js'
import { renderSummary } from '../src/action/summary.js'

const zip = {
  path: '/tmp/e.zip',
  size: 3_500_000,
  sha256: 'ab'.repeat(32),
  entries: [
    { name: 'contents.json', size: 400, compressedSize: 200, crc32: 1 },
    { name: 'a|b.csv', size: 2048, compressedSize: 1000, crc32: 2 }
  ],
  entryCount: 2,
  totalSize: 2448,
  folders: [{ folder: '(top level)', count: 2, bytes: 2448 }],
  contentsJson: { files: ['a|b.csv'] }
}

describe('the job summary', () => {
  it('shows server, order, state, durations, ZIP, digest, entries and contents.json', () => {
    const text = renderSummary({
      server: 'https://octoplant:64023',
      orderName: 'o1',
      resumed: false,
      state: 'STATE_SUCCEEDED',
      durations: { queued: 2000, running: 65_000, download: 1500, check: 300, total: 70_000 },
      uploadMs: 800,
      polls: 12,
      zip,
      artifact: { name: 'octoplant-export-o1.zip', id: 9, url: 'https://github.com/o/r/actions/runs/1/artifacts/9', digest: 'sha256:ff' }
    })
    expect(text).toContain('## ✅ octoplant export succeeded')
    expect(text).toContain('| Order | `o1` — succeeded |')
    expect(text).toContain('| Queued | 2s |')
    expect(text).toContain('| Running | 1m5s |')
    // Download and check apart; the rate in units that fit.
    expect(text).toContain('| Download | 2s (2.23 MiB/s) |')
    expect(text).toContain('| ZIP check | 300ms |')
    expect(text).toContain('| ZIP | `/tmp/e.zip`, 3.34 MiB (3500000 bytes) |')
    expect(text).toContain(`| SHA-256 | \`${'ab'.repeat(32)}\` |`)
    expect(text).toContain('| Artifact | [octoplant-export-o1.zip](https://github.com/o/r/actions/runs/1/artifacts/9) |')
    expect(text).toContain('| `a\\|b.csv` | 2.00 KiB | 1000 B |')
    expect(text).toMatch(/<summary><code>contents.json<\/code><\/summary>\n\n```json\n\{\n {2}"files"/)
  })

  it('leads with the error of a failed run and shows what is known', () => {
    const text = renderSummary({
      server: 'https://octoplant:64023',
      orderName: 'o2',
      resumed: true,
      state: 'STATE_FAILED',
      error: 'order o2 failed on the server: INTERNAL: disk full',
      durations: { total: 5000 }
    })
    expect(text).toMatch(/^## ❌ octoplant export failed\n\n> order o2 failed on the server: INTERNAL: disk full\n/)
    expect(text).toContain('| Order | `o2` (resumed) — failed on the server (its message is above) |')
    expect(text).not.toContain('ZIP entries')
  })

  it.each([
    ['cancelled' as const, '| Order | `o3` — cancelled on the server |'],
    ['left-running' as const, '| Order | `o3` — left running on the server; resume with `order-name: o3` |'],
    ['finished' as const, '| Order | `o3` — finished on the server; fetch it again with `order-name: o3` |']
  ])('says what became of the order after a failure: %s', (orderOutcome, row) => {
    const text = renderSummary({ server: 's', orderName: 'o3', resumed: false, state: 'STATE_RUNNING', orderOutcome, error: 'gave up', durations: { total: 1 } })
    expect(text).toContain(row)
  })

  it('collapses the entries, with a roll-up by top-level folder ahead of the first rows', () => {
    const entries = [
      { name: 'contents.json', size: 100, compressedSize: 50, crc32: 0 },
      { name: 'projectTree/Line 1/PLC/a.s7p', size: 2048, compressedSize: 1000, crc32: 0 },
      { name: 'projectTree/Line 2/b.s7p', size: 1024, compressedSize: 500, crc32: 0 },
      { name: 'jobList.csv', size: 10, compressedSize: 10, crc32: 0 }
    ]
    const folders = [
      { folder: '(top level)', count: 2, bytes: 110 },
      { folder: 'projectTree/', count: 2, bytes: 3072 }
    ]
    const text = renderSummary({ server: 's', resumed: false, durations: { total: 1 }, zip: { ...zip, entries, entryCount: 4, totalSize: 3182, folders } })
    const details = text.slice(text.indexOf('<details><summary>ZIP entries: 4, 3.11 KiB uncompressed</summary>'))
    expect(details).toMatch(/\| `\(top level\)` \| 2 \| 110 B \|\n\| `projectTree\/` \| 2 \| 3.00 KiB \|\n\n\| Entry \| Size \| Compressed \|/)
    expect(details.indexOf('</details>')).toBeGreaterThan(details.indexOf('| `jobList.csv` |'))
  })

  it('keeps a huge export readable: at most 100 entry rows', () => {
    // The report lists the first 1000 entries and counts the rest.
    const entries = Array.from({ length: 250 }, (_, i) => ({ name: `f${i}`, size: 1, compressedSize: 1, crc32: 0 }))
    const text = renderSummary({ server: 's', resumed: false, durations: { total: 1 }, zip: { ...zip, entries, entryCount: 250_000 } })
    expect(text.match(/^\| `f\d+`/gm)).toHaveLength(100)
    expect(text).toContain('| … 249900 more | | |')
  })

  it('formats sizes and rates, never "0 MiB/s" for a small ZIP', () => {
    expect(formatRate(4000, 20)).toBe('195.3 KiB/s')
    expect(formatRate(512, 5000)).toBe('102 B/s')
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1536)).toBe('1.50 KiB')
    expect(formatBytes(2 * 1024 ** 3)).toBe('2.00 GiB')
  })
})

describe('the job summary of the evidence', () => {
  const base = { server: 'https://octoplant:64023', orderName: 'o2', resumed: false, state: 'STATE_SUCCEEDED' as const, durations: { total: 1000 }, zip }
  const side = (size: number) => ({ size, crc32: '0000000a', sha256: 'cd'.repeat(32) })

  it('groups the changes by folder, lists each kind, and says when the lists hold only the first', () => {
    const added = Array.from({ length: 100 }, (_, i) => ({ path: `Plant/Line 3/PLC ${i % 2}/block-${i}.awl`, new: side(i) }))
    const text = renderSummary({
      ...base,
      gateFailure: 'fail-on: changes: 251 entries differ',
      evidence: {
        manifestPath: '/tmp/o2.manifest.sha256',
        recordPath: '/tmp/o2.record.json',
        jobResults: { file: 'unequalJobResults.csv', count: 2, first: [] },
        changes: {
          path: '/tmp/o2.changes.json',
          comparedWith: { kind: 'record', file: '/tmp/o1.record.json', orderName: 'o1', finishedAt: '2026-12-01T01:00:00.000Z' },
          comparedBy: 'sha256',
          counts: { added: 250, removed: 1, changed: 0, unchanged: 7 },
          first: { added, removed: [{ path: 'top.txt', old: side(5) }], changed: [] }
        }
      }
    })
    expect(text).toContain('## ❌ octoplant export kept, and fail-on failed it')
    expect(text).toContain('> fail-on: changes: 251 entries differ')
    expect(text).toContain('| Unequal job results | 2 (`unequalJobResults.csv`) |')
    expect(text).toContain('| Changes | 250 added, 1 removed, 0 changed, 7 unchanged since the previous export o1 of 2026-12-01T01:00:00.000Z |')
    expect(text).toContain('By folder, the changes listed below (the first 100 of each kind); `/tmp/o2.changes.json` has them all.')
    expect(text).toContain('| `(top level)` | 0 | 1 | 0 |')
    expect(text).toContain('| `Plant/Line 3/PLC 0/` | 50 | 0 | 0 |')
    expect(text).toContain('<details><summary>Added: 250 (the first 100)</summary>')
    expect(text).toContain('| `top.txt` | 5 B, sha256 `cdcdcdcdcdcd`… | — |')
    expect(text).not.toContain('Changed:')
  })

  it('shows every file of the evidence list with its row, and hands each on as its output', () => {
    const evidence = { manifestPath: '/o/p.manifest.sha256', recordPath: '/o/p.record.json', changesPath: '/o/p.changes.json' }
    const text = renderSummary({ ...base, evidence })
    const outputs = Object.fromEntries(evidenceOutputs(evidence))
    for (const f of EVIDENCE_FILES) {
      expect(text).toContain(`| ${f.label} | \`${evidence[f.field]}\``)
      expect(outputs[f.output]).toBe(evidence[f.field])
      expect(evidenceFiles('/o/p.zip')[f.field]).toBe(evidence[f.field])
    }
  })

  it('says when there was nothing to compare with, or why no report was made', () => {
    const evidence = { manifestPath: '/m', recordPath: '/r' }
    expect(renderSummary({ ...base, evidence: { ...evidence, noPrevious: true } })).toContain('| Changes | no previous export to compare with: this one is the baseline |')
    expect(renderSummary({ ...base, evidence: { ...evidence, changesProblem: 'the previous export could not be fetched: 403' } })).toContain(
      '| Changes | ⚠️ not reported: the previous export could not be fetched: 403 |'
    )
  })
})
