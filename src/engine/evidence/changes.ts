// What changed since a previous export: every file entry added, removed or changed, compared by
// SHA-256 when both sides have one (a previous export's record), else by CRC-32 and size (a bare
// previous ZIP, known from its central directory). contents.json is left out: it describes the
// export itself (it may name the order and its time), so it would differ every time. The previous
// side is held compactly by path (previous.ts); the current side streams from the manifest, and
// the report streams to disk.
import { LineFile } from './line-file.js'
import type { FileDigest } from './manifest.js'
import { type PreviousExport, readPrevious, type Side } from './previous.js'

export type ChangeKind = 'added' | 'removed' | 'changed'

export interface Change {
  path: string
  old?: Side
  new?: Side
}

export interface ChangeReport {
  /** The JSON file with every change. */
  path: string
  comparedWith: PreviousExport
  comparedBy: 'sha256' | 'crc32+size'
  counts: Record<ChangeKind | 'unchanged', number>
  /** The first changes of each kind, for the summary and a gate's message. */
  first: Record<ChangeKind, Change[]>
}

/** Entries that describe the export, not the plant: never compared. */
export const NOT_COMPARED = ['contents.json']

/** The first changes of each kind kept in memory; the file has them all. */
export const LISTED_CHANGES = 100

export async function compareWithPrevious(previousFile: string, current: AsyncIterable<FileDigest>, out: string): Promise<ChangeReport> {
  const { previous, entries } = await readPrevious(previousFile)
  const bySha = previous.kind === 'record'
  const report: ChangeReport = {
    path: out,
    comparedWith: previous,
    comparedBy: bySha ? 'sha256' : 'crc32+size',
    counts: { added: 0, removed: 0, changed: 0, unchanged: 0 },
    first: { added: [], removed: [], changed: [] }
  }
  const file = new LineFile(out)
  try {
    file.write(`{\n  "comparedWith": ${JSON.stringify(previous)},\n  "comparedBy": "${report.comparedBy}",\n  "notCompared": ${JSON.stringify(NOT_COMPARED)},\n  "changes": [`)
    let separator = '\n    '
    const note = (kind: ChangeKind, change: Change) => {
      report.counts[kind]++
      if (report.first[kind].length < LISTED_CHANGES) report.first[kind].push(change)
      file.write(`${separator}${JSON.stringify({ change: kind, ...change })}`)
      separator = ',\n    '
    }
    for await (const { path, ...now } of current) {
      if (NOT_COMPARED.includes(path)) continue
      const before = entries.take(path)
      if (!before) {
        note('added', { path, new: now })
        continue
      }
      if (same(before, now, bySha)) report.counts.unchanged++
      else note('changed', { path, old: before, new: now })
    }
    for (const [path, before] of entries.remaining()) if (!NOT_COMPARED.includes(path)) note('removed', { path, old: before })
    file.write(`${separator === '\n    ' ? '' : '\n  '}],\n  "counts": ${JSON.stringify(report.counts)}\n}\n`)
    file.close()
  } catch (e) {
    file.abandon()
    throw e
  }
  return report
}

function same(a: Side, b: Side, bySha: boolean): boolean {
  return bySha ? a.sha256 === b.sha256 : a.crc32 === b.crc32 && a.size === b.size
}
