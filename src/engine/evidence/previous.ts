// A previous export, opened for the comparison as a stream of its file entries in its own order:
// from its record (read line by line in the layout this tool writes, one entry a line; any other
// layout of valid JSON is parsed whole) or from its ZIP's central directory. Nothing of it is held
// but what the comparison keeps (changes.ts).
import { open, readFile } from 'node:fs/promises'
import { centralRecords } from '../zip/central.js'
import { linesOf } from './line-file.js'
import { crcHex, type FileDigest, FileEntry } from './manifest.js'
import { RECORD_SCHEMA_ID } from './record.js'

export interface PreviousExport {
  kind: 'record' | 'zip'
  file: string
  /** From a record: its order, when it finished, and the server it came from. */
  orderName?: string
  finishedAt?: string
  serverUrl?: string
}

/** A previous export's file is neither a ZIP nor a record this tool wrote. */
export class PreviousExportUnreadable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PreviousExportUnreadable'
  }
}

export interface OpenedPrevious {
  previous: PreviousExport
  /** Its file entries (not directories), in its order. */
  entries: AsyncIterable<FileDigest>
}

/** Opens a previous export: what it is now (a record's head is read first), its entries as read. */
export async function openPrevious(file: string, signal?: AbortSignal): Promise<OpenedPrevious> {
  if (await startsWithZipSignature(file)) return { previous: { kind: 'zip', file }, entries: zipEntries(file) }
  try {
    return (await openRecordStreaming(file, signal)) ?? (await openRecordWhole(file, signal))
  } catch (e) {
    if (e instanceof PreviousExportUnreadable || signal?.aborted) throw e
    throw new PreviousExportUnreadable(`${file} is neither a ZIP nor an export record (JSON): ${(e as Error).message}`)
  }
}

/** A previous export, looked at before the run connects: readable as a ZIP (its central directory)
 *  or a record (its head and first entry), and which server it came from. Throws
 *  PreviousExportUnreadable otherwise. */
export async function inspectPrevious(file: string): Promise<PreviousExport> {
  const { previous, entries } = await openPrevious(file)
  const first = entries[Symbol.asyncIterator]()
  await first.next()
  await first.return?.()
  return previous
}

async function* zipEntries(file: string): AsyncIterable<FileDigest> {
  try {
    for await (const batch of centralRecords(file)) {
      for (const { record: r } of batch) if (!r.name.endsWith('/')) yield new FileEntry(r.name, r.size, crcHex(r.crc32))
    }
  } catch (e) {
    throw new PreviousExportUnreadable(`${file} looks like a ZIP but cannot be read: ${(e as Error).message}`)
  }
}

interface RecordHead {
  $schema?: unknown
  server?: { url?: unknown }
  order?: { name?: unknown }
  finishedAt?: unknown
  entries?: unknown
}

/** The lines of the entries array as writeRecord lays them out. */
const ENTRIES_OPEN = '  "entries": ['
const ENTRIES_EMPTY = '  "entries": []'
const ENTRIES_CLOSE = '  ]'

/** A record in this tool's layout: its head read up to the entries, which then stream one a line.
 *  Undefined when the file is not in that layout. */
async function openRecordStreaming(file: string, signal?: AbortSignal): Promise<OpenedPrevious | undefined> {
  const lines = linesOf(file, signal)[Symbol.asyncIterator]()
  const head: string[] = []
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    const line = next.value
    if (head.length === 0 && line !== '{') break
    if (line !== ENTRIES_OPEN && line !== ENTRIES_EMPTY) {
      head.push(line)
      continue
    }
    const record = checkedHead(JSON.parse(`${head.join('\n')}\n  "entries": []\n}`) as RecordHead)
    if (line === ENTRIES_EMPTY) await lines.return?.()
    return { previous: describe(file, record), entries: line === ENTRIES_EMPTY ? fromList([]) : recordLines(file, lines) }
  }
  await lines.return?.()
  return undefined
}

async function* recordLines(file: string, lines: AsyncIterator<string>): AsyncIterable<FileDigest> {
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    const line = next.value
    if (line === ENTRIES_CLOSE) return void (await lines.return?.())
    yield checkedEntry(JSON.parse(line.endsWith(',') ? line.slice(0, -1) : line))
  }
  throw new PreviousExportUnreadable(`${file} ends inside its entries`)
}

/** Any other layout of a record: parsed whole (memory grows with the record). */
async function openRecordWhole(file: string, signal?: AbortSignal): Promise<OpenedPrevious> {
  const record = checkedHead(JSON.parse(await readFile(file, { encoding: 'utf8', signal })) as RecordHead)
  if (!Array.isArray(record.entries)) throw new PreviousExportUnreadable(`${file} is an export record without its entries`)
  return { previous: describe(file, record), entries: fromList(record.entries as unknown[]) }
}

/** Entries already in memory, served as the stream the comparison walks. */
// eslint-disable-next-line @typescript-eslint/require-await -- nothing to wait for: the list is read
async function* fromList(list: unknown[]): AsyncIterable<FileDigest> {
  for (const e of list) yield checkedEntry(e)
}

function describe(file: string, head: RecordHead): PreviousExport {
  const previous: PreviousExport = { kind: 'record', file }
  if (typeof head.order?.name === 'string') previous.orderName = head.order.name
  if (typeof head.finishedAt === 'string') previous.finishedAt = head.finishedAt
  if (typeof head.server?.url === 'string') previous.serverUrl = head.server.url
  return previous
}

function checkedHead(record: RecordHead): RecordHead {
  if (record?.$schema !== RECORD_SCHEMA_ID) {
    throw new PreviousExportUnreadable(`the file is JSON but not an export record of this tool (its "$schema" is not ${RECORD_SCHEMA_ID})`)
  }
  return record
}

function checkedEntry(e: unknown): FileDigest {
  const d = e as FileDigest
  if (typeof d?.path !== 'string' || typeof d.size !== 'number' || !/^[0-9a-f]{8}$/.test(d.crc32) || !/^[0-9a-f]{64}$/.test(d.sha256 ?? '')) {
    throw new PreviousExportUnreadable(`an entry of the record is not {path, size, crc32, sha256}: ${JSON.stringify(e).slice(0, 200)}`)
  }
  return d
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
