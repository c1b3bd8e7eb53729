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

/** File entries by path; each is taken at most once (what is left was removed). Held outside the
 *  JavaScript heap: paths as UTF-8 in one buffer, the facts in typed arrays, and an open-addressing
 *  table keyed by a 64-bit hash of the path (two FNV-1a hashes), every hit confirmed against the
 *  stored path. A Map of 200,000 path strings made V8 grow its heap by about 90 MiB (measured). */
export class EntryIndex {
  private count = 0
  private capacity: number
  private pathBytes: Buffer
  private pathEnd = 0
  private offsets: Uint32Array
  private lengths: Uint32Array
  private sizes: Float64Array
  private crcs: Uint32Array
  private shas: Buffer
  private hashes: Uint32Array
  private flags: Uint8Array
  /** Open addressing: slot + 1 per bucket, 0 for empty. */
  private table: Int32Array

  /** `expected`: the number of entries, when known, to size the arrays once. */
  constructor(expected = 1024) {
    this.capacity = Math.max(16, expected)
    this.pathBytes = Buffer.alloc(this.capacity * 64)
    this.offsets = new Uint32Array(this.capacity)
    this.lengths = new Uint32Array(this.capacity)
    this.sizes = new Float64Array(this.capacity)
    this.crcs = new Uint32Array(this.capacity)
    this.shas = Buffer.alloc(this.capacity * 32)
    this.hashes = new Uint32Array(this.capacity * 2)
    this.flags = new Uint8Array(this.capacity)
    this.table = new Int32Array(bucketsFor(this.capacity))
  }

  add(path: string, size: number, crc32: number, sha256?: string): void {
    if (this.count === this.capacity) this.grow()
    const slot = this.count++
    const length = Buffer.byteLength(path)
    if (this.pathEnd + length > this.pathBytes.length) this.pathBytes = copyInto(Buffer.alloc(Math.max(this.pathBytes.length * 2, this.pathEnd + length)), this.pathBytes, this.pathEnd)
    this.pathBytes.write(path, this.pathEnd, 'utf8')
    this.offsets[slot] = this.pathEnd
    this.lengths[slot] = length
    this.pathEnd += length
    this.sizes[slot] = size
    this.crcs[slot] = crc32 >>> 0
    this.flags[slot] = sha256 ? HAS_SHA : 0
    if (sha256) this.shas.write(sha256, slot * 32, 32, 'hex')
    const [h1, h2] = fnv(path)
    this.hashes[2 * slot] = h1
    this.hashes[2 * slot + 1] = h2
    this.insert(slot)
  }

  /** The entry at `path`, taken from the index; undefined when it has none (or it was taken). */
  take(path: string): Side | undefined {
    const [h1, h2] = fnv(path)
    const mask = this.table.length - 1
    for (let b = h1 & mask; this.table[b] !== 0; b = (b + 1) & mask) {
      const slot = this.table[b] - 1
      if (this.hashes[2 * slot] !== h1 || this.hashes[2 * slot + 1] !== h2 || this.flags[slot] & TAKEN) continue
      if (this.pathOf(slot) !== path) continue
      this.flags[slot] |= TAKEN
      return this.side(slot)
    }
    return undefined
  }

  /** The entries not taken, in the order they were added. */
  *remaining(): Iterable<[string, Side]> {
    for (let slot = 0; slot < this.count; slot++) if (!(this.flags[slot] & TAKEN)) yield [this.pathOf(slot), this.side(slot)]
  }

  private pathOf(slot: number): string {
    return this.pathBytes.toString('utf8', this.offsets[slot], this.offsets[slot] + this.lengths[slot])
  }

  private side(slot: number): Side {
    const side: Side = { size: this.sizes[slot], crc32: crcHex(this.crcs[slot]) }
    if (this.flags[slot] & HAS_SHA) side.sha256 = this.shas.toString('hex', slot * 32, slot * 32 + 32)
    return side
  }

  private insert(slot: number): void {
    const mask = this.table.length - 1
    let b = this.hashes[2 * slot] & mask
    while (this.table[b] !== 0) b = (b + 1) & mask
    this.table[b] = slot + 1
  }

  private grow(): void {
    const n = this.capacity * 2
    const widen = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T, per = 1) => {
      const b = make(n * per)
      b.set(a)
      return b
    }
    this.offsets = widen(this.offsets, k => new Uint32Array(k))
    this.lengths = widen(this.lengths, k => new Uint32Array(k))
    this.sizes = widen(this.sizes, k => new Float64Array(k))
    this.crcs = widen(this.crcs, k => new Uint32Array(k))
    this.hashes = widen(this.hashes, k => new Uint32Array(k), 2)
    this.flags = widen(this.flags, k => new Uint8Array(k))
    this.shas = copyInto(Buffer.alloc(n * 32), this.shas, this.count * 32)
    this.capacity = n
    this.table = new Int32Array(bucketsFor(n))
    for (let slot = 0; slot < this.count; slot++) this.insert(slot)
  }
}

const HAS_SHA = 1
const TAKEN = 2

/** A power of two at least twice the entries: probe runs stay short. */
function bucketsFor(entries: number): number {
  return 2 ** Math.ceil(Math.log2(entries * 2))
}

function copyInto(target: Buffer, source: Buffer, length: number): Buffer {
  source.copy(target, 0, 0, length)
  return target
}

/** Two 32-bit FNV-1a hashes of the string's UTF-16 code units, with different offsets. */
function fnv(s: string): [number, number] {
  let a = 0x811c9dc5
  let b = 0x050c5d1f
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x01000193)
  }
  return [a >>> 0, b >>> 0]
}

/** The previous export's file entries, from its record or its ZIP. */
export async function readPrevious(file: string): Promise<{ previous: PreviousExport; entries: EntryIndex }> {
  let entries = new EntryIndex()
  if (await startsWithZipSignature(file)) {
    try {
      await forEachCentralRecord(
        file,
        r => {
          if (!r.name.endsWith('/')) entries.add(r.name, r.size, r.crc32)
        },
        // At most a million slots up front: a lying end record cannot reserve more.
        n => (entries = new EntryIndex(Math.min(n, 1_000_000)))
      )
    } catch (e) {
      throw new PreviousExportUnreadable(`${file} looks like a ZIP but cannot be read: ${(e as Error).message}`)
    }
    return { previous: { kind: 'zip', file }, entries }
  }
  const add = (e: FileDigest) => entries.add(e.path, e.size, parseInt(e.crc32, 16), e.sha256)
  const sized = (n: number) => (entries = new EntryIndex(Math.min(n, 1_000_000)))
  let head: RecordHead
  try {
    head = (await readRecordStreaming(file, add, sized)) ?? (await readRecordWhole(file, add))
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
  manifest?: { files?: unknown }
  order?: { name?: unknown }
  finishedAt?: unknown
  entries?: unknown
}

/** The lines of the entries array as writeRecord lays them out. */
const ENTRIES_OPEN = '  "entries": ['
const ENTRIES_EMPTY = '  "entries": []'
const ENTRIES_CLOSE = '  ]'

/** A record in this tool's layout, one entry a line: the head, with each entry handed to `add` (and
 *  the number of entries the head announces to `sized` first). Undefined when the file is not in
 *  that layout (nothing was added then). */
async function readRecordStreaming(file: string, add: (e: FileDigest) => void, sized: (n: number) => void): Promise<RecordHead | undefined> {
  const head: string[] = []
  const tail: string[] = []
  let where: 'head' | 'entries' | 'tail' = 'head'
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (where === 'head') {
      if (line === ENTRIES_OPEN) {
        where = 'entries'
        const files = checkedHead(JSON.parse(`${head.join('\n')}\n  "entries": []\n}`) as RecordHead).manifest?.files
        if (typeof files === 'number' && files >= 0) sized(files)
      } else if (line === ENTRIES_EMPTY) where = 'tail'
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
