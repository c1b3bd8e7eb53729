// What changed since a previous export: every file entry added, removed or changed, compared by
// SHA-256 when both sides have one (a previous export's record), else by CRC-32 and size (a bare
// previous ZIP, known from its central directory). contents.json is left out: it describes the
// export itself (it may name the order and its time), so it would differ every time. Both sides
// stream (the previous export's record or ZIP, previous.ts; the current manifest) and are walked
// side by side; the report streams to disk.
import { LineFile } from './line-file.js'
import type { FileDigest } from './manifest.js'
import { openPrevious, type PreviousExport } from './previous.js'

/** An entry's facts on one side. */
export type Side = Omit<FileDigest, 'path'>

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

/** `signal`: the run's deadline and cancellation, checked at every entry. */
export async function compareWithPrevious(previousFile: string, current: AsyncIterable<FileDigest>, out: string, signal?: AbortSignal): Promise<ChangeReport> {
  const { previous, entries } = await openPrevious(previousFile, signal)
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
    await walkBoth(entries, current, {
      note: (kind, change) => {
        report.counts[kind]++
        if (report.first[kind].length < LISTED_CHANGES) report.first[kind].push(change)
        file.write(`${separator}${JSON.stringify({ change: kind, ...change })}`)
        separator = ',\n    '
      },
      unchanged: () => void report.counts.unchanged++,
      same: (a, b) => same(a, b, bySha),
      signal
    })
    file.write(`${separator === '\n    ' ? '' : '\n  '}],\n  "counts": ${JSON.stringify(report.counts)}\n}\n`)
    file.close()
  } catch (e) {
    file.abandon()
    throw e
  }
  return report
}

interface Verdicts {
  note(kind: ChangeKind, change: Change): void
  unchanged(): void
  same(before: Side, now: Side): boolean
  signal?: AbortSignal
}

/** Walks both lists side by side. Exports of the same tree list their entries in the same order,
 *  so most pairs meet at once; an entry out of step waits in a map until its partner comes (or is
 *  added or removed at the end). Memory grows with the entries that moved, not with the export. */
async function walkBoth(previous: AsyncIterable<FileDigest>, current: AsyncIterable<FileDigest>, v: Verdicts): Promise<void> {
  const before = previous[Symbol.asyncIterator]()
  const now = current[Symbol.asyncIterator]()
  const waitingBefore = new Map<string, Side>()
  const waitingNow = new Map<string, Side>()
  const compare = (path: string, old: Side, fresh: Side) => (v.same(old, fresh) ? v.unchanged() : v.note('changed', { path, old, new: fresh }))
  for (;;) {
    v.signal?.throwIfAborted()
    const [a, b] = await Promise.all([nextCompared(before), nextCompared(now)])
    if (!a && !b) break
    if (a && b && a.path === b.path) {
      compare(a.path, sideOf(a), sideOf(b))
      continue
    }
    if (a) {
      const partner = waitingNow.get(a.path)
      if (partner) {
        waitingNow.delete(a.path)
        compare(a.path, sideOf(a), partner)
      } else waitingBefore.set(a.path, sideOf(a))
    }
    if (b) {
      const partner = waitingBefore.get(b.path)
      if (partner) {
        waitingBefore.delete(b.path)
        compare(b.path, partner, sideOf(b))
      } else waitingNow.set(b.path, sideOf(b))
    }
  }
  for (const [path, fresh] of waitingNow) v.note('added', { path, new: fresh })
  for (const [path, old] of waitingBefore) v.note('removed', { path, old })
}

/** The next entry that is compared (contents.json is not), or undefined at the end. */
async function nextCompared(list: AsyncIterator<FileDigest>): Promise<FileDigest | undefined> {
  for (let next = await list.next(); !next.done; next = await list.next()) if (!NOT_COMPARED.includes(next.value.path)) return next.value
  return undefined
}

function sideOf({ path: _path, ...side }: FileDigest): Side {
  return side
}

function same(a: Side, b: Side, bySha: boolean): boolean {
  return bySha ? a.sha256 === b.sha256 : a.crc32 === b.crc32 && a.size === b.size
}
