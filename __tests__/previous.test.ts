// The comparison walks the previous export and the current one side by side: entries that moved
// still pair up; a previous record is read in any valid JSON layout, and anything else is refused.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { compareWithPrevious } from '../src/engine/evidence/changes.js'
import type { FileDigest } from '../src/engine/evidence/manifest.js'
import { openPrevious, PreviousExportUnreadable } from '../src/engine/evidence/previous.js'
import { RECORD_SCHEMA_ID, writeRecord } from '../src/engine/evidence/record.js'

const sha = (i: number) => i.toString(16).padStart(64, '0')
const facts = {
  tool: { name: 'octoplant-export', version: '1' },
  serverUrl: 'https://octoplant.plant.local:64023',
  order: { name: 'order-1', resumed: false, exportContents: null },
  startedAt: new Date(0),
  finishedAt: new Date(1000),
  ranBy: { system: 'none' },
  zip: { path: 'x.zip', size: 1, sha256: sha(1), entries: 2 },
  manifest: { path: 'x.manifest.sha256', sha256: sha(2), files: 2 }
}

async function entriesOf(file: string): Promise<FileDigest[]> {
  const { entries } = await openPrevious(file)
  const all: FileDigest[] = []
  for await (const e of entries) all.push(e)
  return all
}

describe('the comparison, walking both exports side by side', () => {
  async function* list(entries: [string, number][]) {
    for (const [p, n] of entries) yield { path: p, size: n, crc32: n.toString(16).padStart(8, '0'), sha256: sha(n) }
  }

  it('pairs entries that moved, and tells added, removed, changed and unchanged apart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'walk-'))
    const record = path.join(dir, 'before.record.json')
    await writeRecord(record, { ...facts, manifest: { ...facts.manifest, files: 6 } }, list([['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5], ['contents.json', 9]]))
    // a and b swapped, c changed, d removed, x added, e as it was; contents.json is not compared.
    const report = await compareWithPrevious(record, list([['contents.json', 10], ['b', 2], ['a', 1], ['c', 33], ['x', 6], ['e', 5]]), path.join(dir, 'changes.json'))
    expect(report.counts).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 3 })
    expect(report.first.added.map(c => c.path)).toEqual(['x'])
    expect(report.first.removed.map(c => c.path)).toEqual(['d'])
    expect(report.first.changed).toEqual([{ path: 'c', old: { size: 3, crc32: '00000003', sha256: sha(3) }, new: { size: 33, crc32: '00000021', sha256: sha(33) } }])
    const written = JSON.parse(readFileSync(path.join(dir, 'changes.json'), 'utf8')) as { counts: object; changes: unknown[] }
    expect(written.counts).toEqual(report.counts)
    expect(written.changes).toHaveLength(3)
  })

  it('compares thousands of entries in a shifted order', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'walk-'))
    const record = path.join(dir, 'before.record.json')
    const before = Array.from({ length: 5000 }, (_, i): [string, number] => [`projectTree/Gerät ${i}/Baustein.awl`, i])
    await writeRecord(record, { ...facts, manifest: { ...facts.manifest, files: before.length } }, list(before))
    // The first hundred now come last.
    const now = [...before.slice(100), ...before.slice(0, 100)]
    const report = await compareWithPrevious(record, list(now), path.join(dir, 'changes.json'))
    expect(report.counts).toEqual({ added: 0, removed: 0, changed: 0, unchanged: 5000 })
  })
})

describe('reading a previous record', () => {
  async function* two() {
    yield { path: 'a/b.txt', size: 1, crc32: '00000001', sha256: sha(1) }
    yield { path: 'a/"quoted" \\ name.txt', size: 2, crc32: '00000002', sha256: sha(2) }
  }

  it('reads its own layout line by line, and any other valid layout whole', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'record-'))
    const file = path.join(dir, 'r.json')
    await writeRecord(file, facts, two())
    expect((await openPrevious(file)).previous).toEqual({ kind: 'record', file, orderName: 'order-1', finishedAt: '1970-01-01T00:00:01.000Z', serverUrl: 'https://octoplant.plant.local:64023' })
    expect((await entriesOf(file)).map(e => [e.path, e.sha256])).toEqual([['a/b.txt', sha(1)], ['a/"quoted" \\ name.txt', sha(2)]])
    const minified = path.join(dir, 'min.json')
    writeFileSync(minified, JSON.stringify(JSON.parse(readFileSync(file, 'utf8'))))
    expect((await entriesOf(minified)).map(e => e.path)).toEqual(['a/b.txt', 'a/"quoted" \\ name.txt'])
  })

  it('refuses JSON that is not a record of this tool, and a record entry of another shape', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'record-'))
    writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ $schema: 'https://example.com/other', entries: [] }))
    await expect(openPrevious(path.join(dir, 'other.json'))).rejects.toThrow(PreviousExportUnreadable)
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ $schema: RECORD_SCHEMA_ID, entries: [{ path: 'a', size: 1, crc32: 'xyz', sha256: 'no' }] }))
    await expect(entriesOf(path.join(dir, 'bad.json'))).rejects.toThrow(/an entry of the record is not \{path, size, crc32, sha256\}/)
    writeFileSync(path.join(dir, 'text.json'), 'not json at all')
    await expect(openPrevious(path.join(dir, 'text.json'))).rejects.toThrow(/is neither a ZIP nor an export record/)
  })
})
