// What changed since a previous export: every file entry added, removed or changed, compared by
// SHA-256 when both sides have one (a previous export's record), else by CRC-32 and size (a bare
// previous ZIP, known from its central directory). contents.json is left out: it describes the
// export itself (it may name the order and its time), so it would differ every time. The previous side is held as a map by path; the
// current side streams from the entry list, and the report streams to disk, so only the previous
// export's entries are ever in memory.
import { createReadStream } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { forEachCentralRecord } from '../zip/central.js'
import { LineFile } from './line-file.js'
import { crcHex, type FileDigest, parseEntryLine } from './manifest.js'
import { RECORD_SCHEMA_ID } from './record.js'

export type ChangeKind = 'added' | 'removed' | 'changed'

export interface Change {
  path: string
  old?: Omit<FileDigest, 'path'>
  new?: Omit<FileDigest, 'path'>
}

export interface PreviousExport {
  kind: 'record' | 'zip'
  file: string
  /** From a record: its order and when it finished. */
  orderName?: string
  finishedAt?: string
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
const FIRST = 100

/** A previous export's file is neither a ZIP nor a record this tool wrote. */
export class PreviousExportUnreadable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PreviousExportUnreadable'
  }
}

export async function compareWithPrevious(previousFile: string, entryList: string, out: string): Promise<ChangeReport> {
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
      if (report.first[kind].length < FIRST) report.first[kind].push(change)
      file.write(`${separator}${JSON.stringify({ change: kind, ...change })}`)
      separator = ',\n    '
    }
    for await (const line of createInterface({ input: createReadStream(entryList), crlfDelay: Infinity })) {
      if (!line) continue
      const { path, ...now } = parseEntryLine(line)
      if (NOT_COMPARED.includes(path)) continue
      const before = entries.get(path)
      if (!before) {
        note('added', { path, new: now })
        continue
      }
      entries.delete(path)
      if (same(before, now, bySha)) report.counts.unchanged++
      else note('changed', { path, old: before, new: now })
    }
    for (const [path, before] of entries) if (!NOT_COMPARED.includes(path)) note('removed', { path, old: before })
    file.write(`${separator === '\n    ' ? '' : '\n  '}],\n  "counts": ${JSON.stringify(report.counts)}\n}\n`)
    file.close()
  } catch (e) {
    file.abandon()
    throw e
  }
  return report
}

function same(a: Omit<FileDigest, 'path'>, b: Omit<FileDigest, 'path'>, bySha: boolean): boolean {
  return bySha ? a.sha256 === b.sha256 : a.crc32 === b.crc32 && a.size === b.size
}

/** The previous export's file entries by path: from its record, or from its ZIP's central directory. */
async function readPrevious(file: string): Promise<{ previous: PreviousExport; entries: Map<string, Omit<FileDigest, 'path'>> }> {
  const entries = new Map<string, Omit<FileDigest, 'path'>>()
  if (await startsWithZipSignature(file)) {
    try {
      await forEachCentralRecord(file, r => {
        if (!r.name.endsWith('/')) entries.set(r.name, { size: r.size, crc32: crcHex(r.crc32) })
      })
    } catch (e) {
      throw new PreviousExportUnreadable(`${file} looks like a ZIP but cannot be read: ${(e as Error).message}`)
    }
    return { previous: { kind: 'zip', file }, entries }
  }
  let record: { $schema?: unknown; order?: { name?: unknown }; finishedAt?: unknown; entries?: unknown }
  try {
    record = JSON.parse(await readFile(file, 'utf8')) as typeof record
  } catch (e) {
    throw new PreviousExportUnreadable(`${file} is neither a ZIP nor an export record (JSON): ${(e as Error).message}`)
  }
  if (record?.$schema !== RECORD_SCHEMA_ID || !Array.isArray(record.entries)) {
    throw new PreviousExportUnreadable(`${file} is JSON but not an export record of this tool (its "$schema" is not ${RECORD_SCHEMA_ID})`)
  }
  for (const e of record.entries as FileDigest[]) entries.set(e.path, { size: e.size, crc32: e.crc32, sha256: e.sha256 })
  const previous: PreviousExport = { kind: 'record', file }
  if (typeof record.order?.name === 'string') previous.orderName = record.order.name
  if (typeof record.finishedAt === 'string') previous.finishedAt = record.finishedAt
  return { previous, entries }
}

async function startsWithZipSignature(file: string): Promise<boolean> {
  const handle = await open(file, 'r')
  try {
    const head = Buffer.alloc(4)
    const { bytesRead } = await handle.read(head, 0, 4, 0)
    return bytesRead === 4 && head.readUInt32LE(0) !== 0 && head.subarray(0, 2).toString('latin1') === 'PK'
  } finally {
    await handle.close()
  }
}
