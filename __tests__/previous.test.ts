// The previous export's entries as the comparison holds them: found by path whatever their number,
// each taken once, the rest listed in order; and a record read in any valid JSON layout.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { EntryIndex, PreviousExportUnreadable, readPrevious } from '../src/engine/evidence/previous.js'
import { RECORD_SCHEMA_ID, writeRecord } from '../src/engine/evidence/record.js'

const sha = (i: number) => i.toString(16).padStart(64, '0')

describe('the index of a previous export', () => {
  it('finds every path past its first size, takes each once, and lists the rest in order', () => {
    const index = new EntryIndex(4)
    const paths = Array.from({ length: 5000 }, (_, i) => `projectTree/Anlage ${i % 7}/Gerät ${i}/Baustein ${i}.awl`)
    paths.forEach((p, i) => index.add(p, i, i * 7, sha(i)))
    expect(index.take(paths[4321])).toEqual({ size: 4321, crc32: (4321 * 7).toString(16).padStart(8, '0'), sha256: sha(4321) })
    expect(index.take(paths[4321])).toBeUndefined()
    expect(index.take('projectTree/nicht da.awl')).toBeUndefined()
    for (const p of paths.slice(0, 4990)) if (p !== paths[4321]) expect(index.take(p)).toBeDefined()
    expect([...index.remaining()].map(([p]) => p)).toEqual(paths.slice(4990))
  })

  it('keeps entries without a digest (from a ZIP) without one', () => {
    const index = new EntryIndex()
    index.add('a.txt', 3, 0xdeadbeef)
    expect(index.take('a.txt')).toEqual({ size: 3, crc32: 'deadbeef' })
  })
})

describe('reading a previous record', () => {
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
  async function* two() {
    yield { path: 'a/b.txt', size: 1, crc32: '00000001', sha256: sha(1) }
    yield { path: 'a/"quoted" \\ name.txt', size: 2, crc32: '00000002', sha256: sha(2) }
  }

  it('reads its own layout line by line, and any other valid layout whole', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'record-'))
    const file = path.join(dir, 'r.json')
    await writeRecord(file, facts, two())
    const streamed = await readPrevious(file)
    expect(streamed.previous).toEqual({ kind: 'record', file, orderName: 'order-1', finishedAt: '1970-01-01T00:00:01.000Z' })
    expect([...streamed.entries.remaining()].map(([p, s]) => [p, s.sha256])).toEqual([['a/b.txt', sha(1)], ['a/"quoted" \\ name.txt', sha(2)]])
    const minified = path.join(dir, 'min.json')
    writeFileSync(minified, JSON.stringify(JSON.parse(readFileSync(file, 'utf8'))))
    const whole = await readPrevious(minified)
    expect([...whole.entries.remaining()].map(([p]) => p)).toEqual(['a/b.txt', 'a/"quoted" \\ name.txt'])
  })

  it('refuses JSON that is not a record of this tool, and a record entry of another shape', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'record-'))
    writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ $schema: 'https://example.com/other', entries: [] }))
    await expect(readPrevious(path.join(dir, 'other.json'))).rejects.toThrow(PreviousExportUnreadable)
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ $schema: RECORD_SCHEMA_ID, entries: [{ path: 'a', size: 1, crc32: 'xyz', sha256: 'no' }] }))
    await expect(readPrevious(path.join(dir, 'bad.json'))).rejects.toThrow(/an entry of the record is not \{path, size, crc32, sha256\}/)
    writeFileSync(path.join(dir, 'text.json'), 'not json at all')
    await expect(readPrevious(path.join(dir, 'text.json'))).rejects.toThrow(/is neither a ZIP nor an export record/)
  })
})
