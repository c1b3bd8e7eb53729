// A previous export, read for the comparison: from its record (streamed line by line in the layout
// this tool writes, one entry a line; any other layout of valid JSON is parsed whole) or from its
// ZIP's central directory. Its file entries are held compactly: a map from path to a slot, and the
// sizes, CRC-32s and SHA-256s in typed arrays (44 bytes a slot beside the path), so that 200,000
// entries cost a few tens of MiB rather than the hundreds that JSON objects would.
import { createReadStream } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { forEachCentralRecord } from '../zip/central.js'
import { crcHex, type FileDigest } from './manifest.js'
import { RECORD_SCHEMA_ID } from './record.js'

export type Side = Omit<FileDigest, 'path'>

export interface PreviousExport {
  kind: 'record' | 'zip'
  file: string
  /** From a record: its order and when it finished. */
  orderName?: string
  finishedAt?: string
}

/** A previous export's file is neither a ZIP nor a record this tool wrote. */
export class PreviousExportUnreadable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PreviousExportUnreadable'
  }
}

/** File entries by path; each is taken at most once (what is left was removed). */
export class EntryIndex {
  private readonly slots = new Map<string, number>()
  private sizes = new Float64Array(1024)
  private crcs = new Uint32Array(1024)
  private shas = Buffer.alloc(32 * 1024)
  private readonly withSha: boolean[] = []
  private count = 0

  add(path: string, size: number, crc32: number, sha256?: string): void {
    if (this.count === this.sizes.length) this.grow()
    const slot = this.count++
    this.sizes[slot] = size
    this.crcs[slot] = crc32 >>> 0
    if (sha256) this.shas.write(sha256, slot * 32, 32, 'hex')
    this.withSha[slot] = !!sha256
    this.slots.set(path, slot)
  }

  /** The entry at `path`, removed from the index; undefined when it has none. */
  take(path: string): Side | undefined {
    const slot = this.slots.get(path)
    if (slot === undefined) return undefined
    this.slots.delete(path)
    return this.side(slot)
  }

  /** The entries not taken, in the order they were added. */
  *remaining(): Iterable<[string, Side]> {
    for (const [path, slot] of this.slots) yield [path, this.side(slot)]
  }

  private side(slot: number): Side {
    const side: Side = { size: this.sizes[slot], crc32: crcHex(this.crcs[slot]) }
    if (this.withSha[slot]) side.sha256 = this.shas.toString('hex', slot * 32, slot * 32 + 32)
    return side
  }

  private grow(): void {
    const n = this.sizes.length * 2
    const sizes = new Float64Array(n)
    sizes.set(this.sizes)
    const crcs = new Uint32Array(n)
    crcs.set(this.crcs)
    const shas = Buffer.alloc(32 * n)
    this.shas.copy(shas)
    Object.assign(this, { sizes, crcs, shas })
  }
}

/** The previous export's file entries, from its record or its ZIP. */
export async function readPrevious(file: string): Promise<{ previous: PreviousExport; entries: EntryIndex }> {
  const entries = new EntryIndex()
  if (await startsWithZipSignature(file)) {
    try {
      await forEachCentralRecord(file, r => {
        if (!r.name.endsWith('/')) entries.add(r.name, r.size, r.crc32)
      })
    } catch (e) {
      throw new PreviousExportUnreadable(`${file} looks like a ZIP but cannot be read: ${(e as Error).message}`)
    }
    return { previous: { kind: 'zip', file }, entries }
  }
  const add = (e: FileDigest) => entries.add(e.path, e.size, parseInt(e.crc32, 16), e.sha256)
  let head: RecordHead
  try {
    head = (await readRecordStreaming(file, add)) ?? (await readRecordWhole(file, add))
  } catch (e) {
    if (e instanceof PreviousExportUnreadable) throw e
    throw new PreviousExportUnreadable(`${file} is neither a ZIP nor an export record (JSON): ${(e as Error).message}`)
  }
  const previous: PreviousExport = { kind: 'record', file }
  if (typeof head.order?.name === 'string') previous.orderName = head.order.name
  if (typeof head.finishedAt === 'string') previous.finishedAt = head.finishedAt
  return { previous, entries }
}

interface RecordHead {
  $schema?: unknown
  order?: { name?: unknown }
  finishedAt?: unknown
  entries?: unknown
}

/** The lines of the entries array as writeRecord lays them out. */
const ENTRIES_OPEN = '  "entries": ['
const ENTRIES_EMPTY = '  "entries": []'
const ENTRIES_CLOSE = '  ]'

/** A record in this tool's layout, one entry a line: the head, with each entry handed to `add`.
 *  Undefined when the file is not in that layout (nothing was added then). */
async function readRecordStreaming(file: string, add: (e: FileDigest) => void): Promise<RecordHead | undefined> {
  const head: string[] = []
  const tail: string[] = []
  let where: 'head' | 'entries' | 'tail' = 'head'
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (where === 'head') {
      if (line === ENTRIES_OPEN) where = 'entries'
      else if (line === ENTRIES_EMPTY) where = 'tail'
      else head.push(line)
    } else if (where === 'entries') {
      if (line === ENTRIES_CLOSE) where = 'tail'
      else add(checkedEntry(JSON.parse(line.endsWith(',') ? line.slice(0, -1) : line)))
    } else {
      tail.push(line)
    }
    // A first line that does not open an object is no record of ours: read no further.
    if (where === 'head' && head.length === 1 && head[0] !== '{') return undefined
  }
  if (where !== 'tail') return undefined
  return checkedHead(JSON.parse(`${head.join('\n')}\n  "entries": []\n${tail.join('\n')}`) as RecordHead)
}

/** Any other layout of a record: parsed whole (memory grows with the record). */
async function readRecordWhole(file: string, add: (e: FileDigest) => void): Promise<RecordHead> {
  const record = checkedHead(JSON.parse(await readFile(file, 'utf8')) as RecordHead)
  if (!Array.isArray(record.entries)) throw new PreviousExportUnreadable(`${file} is an export record without its entries`)
  for (const e of record.entries) add(checkedEntry(e))
  return record
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
