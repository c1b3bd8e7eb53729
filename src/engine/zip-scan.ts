// A ZIP read front to back, in one pass, as its bytes arrive: local headers are parsed, each entry is
// inflated and CRC-checked while it streams past, and the central directory at the end is the
// authority every entry is compared against. Nothing seeks and nothing opens an entry twice, so the
// check of a download finishes when the download does, and memory stays small whatever the size or
// the number of entries (a few typed arrays per entry, no objects).
//
// Written by hand over node:zlib: yauzl and node-stream-zip read by random access (a read stream per
// entry, after the download), unzipper's streaming parser does not settle data descriptors reliably
// and is slow on many entries, and fflate inflates in JavaScript, several times slower than zlib on
// large entries, and does not check CRCs when it streams.
//
// What one pass cannot settle for sure: a stored entry whose sizes follow its data (a data
// descriptor) has no length up front. Its end is taken where a signed descriptor follows whose CRC
// and sizes match what came before; when none does (the signature is optional), the scan marks the
// entry (`unsettledFrom`) and the caller finishes from disk with the central directory's sizes.
import { createInflateRaw, crc32 } from 'node:zlib'
import { type InflateOutcome, RawInflater } from './inflate.js'

const LOCAL_SIG = 0x04034b50
export const CENTRAL_SIG = 0x02014b50
const EOCD_SIG = 0x06054b50
const ZIP64_EOCD_SIG = 0x06064b50
const ZIP64_LOCATOR_SIG = 0x07064b50
const DESCRIPTOR_SIG = 0x08074b50
const DESCRIPTOR_SIG_BYTES = Buffer.from([0x50, 0x4b, 0x07, 0x08])
const STORED = 0
const DEFLATED = 8

/** Entries whose compressed data is at most this are inflated in one synchronous call. */
const SYNC_COMPRESSED_MAX = 256 * 1024
/** … and whose output is at most this (a larger one is inflated as a stream: bombs stay small). */
const SYNC_OUTPUT_MAX = 4 * 1024 * 1024

export class InvalidZipError extends Error {
  constructor(
    message: string,
    /** False when fetching it again cannot help: the ZIP itself is hostile (paths, links, size). */
    readonly retryable = true
  ) {
    super(message)
    this.name = 'InvalidZipError'
  }
}

/** What a ZIP says of one entry, in its local header or its central directory record. */
interface EntryFacts {
  name: string
  /** Offset of its local header. */
  offset: number
  method: number
  crc32: number
  compressedSize: number
  size: number
}

/** An entry as the scan meets it: sizes and CRC-32 from the local header, or from the central
 *  directory when reading with it. */
export interface EntryHeader extends EntryFacts {
  /** Sizes and CRC-32 follow the data (general purpose flag bit 3). */
  descriptor: boolean
}

/** Where an entry's uncompressed bytes go (the CRC is checked whatever the sink does). */
export interface EntrySink {
  /** The bytes are valid during the call only (the reader's buffer is reused): copy to keep. */
  data(bytes: Buffer): void
  /** Called once the entry is verified; a promise holds the scan back (back-pressure). */
  end(): void | Promise<void>
}

/** What the central directory says of one entry: enough to read it from disk and to extract it. */
export interface CentralRecord extends EntryFacts {
  /** Unix mode (high 16 bits of the external attributes) when made on Unix, else 0. */
  unixMode: number
}

/** Per-entry facts in typed arrays: 33 bytes an entry, and no object per entry for the GC. */
export class EntryTable {
  count = 0
  private capacity: number
  offsets: Float64Array
  compressedSizes: Float64Array
  sizes: Float64Array
  crcs: Uint32Array
  nameHashes: Uint32Array
  /** Set when the central directory named it (or, for a central directory index, when the scan met it). */
  listed: Uint8Array

  /** `expected`: the number of entries when known (no growing, no slack). */
  constructor(expected = 1024) {
    this.capacity = Math.max(16, expected)
    this.offsets = new Float64Array(this.capacity)
    this.compressedSizes = new Float64Array(this.capacity)
    this.sizes = new Float64Array(this.capacity)
    this.crcs = new Uint32Array(this.capacity)
    this.nameHashes = new Uint32Array(this.capacity)
    this.listed = new Uint8Array(this.capacity)
  }

  add(offset: number, compressedSize: number, size: number, crc: number, nameHash: number): void {
    if (this.count === this.capacity) this.grow()
    const i = this.count++
    this.offsets[i] = offset
    this.compressedSizes[i] = compressedSize
    this.sizes[i] = size
    this.crcs[i] = crc
    this.nameHashes[i] = nameHash
  }

  /** Index of the entry whose local header is at `offset` (entries are added in offset order). */
  indexOf(offset: number, hint: number): number {
    if (hint < this.count && this.offsets[hint] === offset) return hint
    let lo = 0
    let hi = this.count - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const at = this.offsets[mid]
      if (at === offset) return mid
      if (at < offset) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }

  /** Puts the entries in offset order (a central directory may list them in any order). */
  sortByOffset(): void {
    let sorted = true
    for (let i = 1; i < this.count && sorted; i++) sorted = this.offsets[i - 1] <= this.offsets[i]
    if (sorted) return
    const order = Array.from({ length: this.count }, (_, i) => i).sort((a, b) => this.offsets[a] - this.offsets[b])
    this.remake(this.capacity, (from, to) => order.forEach((at, i) => (to[i] = from[at])))
  }

  private grow(): void {
    this.capacity *= 2
    this.remake(this.capacity, (from, to) => to.set(from))
  }

  /** Replaces every column with a new one of `length`, filled by `fill`. */
  private remake(length: number, fill: (from: Column, to: Column) => void): void {
    const make = <T extends Column>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(length)
      fill(a, b)
      return b
    }
    this.offsets = make(this.offsets)
    this.compressedSizes = make(this.compressedSizes)
    this.sizes = make(this.sizes)
    this.crcs = make(this.crcs)
    this.nameHashes = make(this.nameHashes)
    this.listed = make(this.listed)
  }
}

type Column = Float64Array | Uint32Array | Uint8Array

export interface ScanOptions {
  /** Where each entry's bytes go; undefined: checked only. */
  entry?: (header: EntryHeader) => EntrySink | undefined
  /** Called once an entry is verified (with its real sizes, also when they follow its data). */
  settled?: (header: EntryHeader) => void
  /** The central directory, indexed (reading from disk): every entry's sizes are then known, data
   *  descriptor or not. */
  central?: EntryTable
  /** Continue a scan that stopped at `offset` (its table holds the entries before). */
  resume?: { table: EntryTable; offset: number }
  /** A minor GC (base/gc.ts), called every few hundred entries: each leaves a little garbage; a
   *  full one (`true`) now and then, for what the minor ones promote. */
  collect?: (full?: boolean) => void
}

const COLLECT_EVERY_ENTRIES = 500
const FULL_COLLECT_EVERY_ENTRIES = 20_000

/** The next position to parse at, or -1 for "more bytes needed"; a promise while an inflater works. */
type Step = number | Promise<number>

type Phase = 'header' | 'data' | 'descriptor' | 'central' | 'end' | 'done' | 'unsettled'

interface Current {
  header: EntryHeader
  dataStart: number
  zip64: boolean
  sink?: EntrySink
  crc: number
  /** Uncompressed bytes so far, and compressed bytes consumed. */
  out: number
  consumed: number
  /** Sizes known in advance (no descriptor, or the central directory gave them). */
  known: boolean
  /** Streaming inflater of a large deflated entry. */
  inflater?: Inflater
  /** Bytes needed before the next one-call inflate of a descriptor entry is tried. */
  nextTry: number
  nameHash: number
}

/** Reads a ZIP front to back. Feed it with write(), then end(): both throw InvalidZipError. */
export class ZipScanner {
  readonly table: EntryTable
  /** Offset of the first entry the scan could not settle (a stored entry with a data descriptor). */
  unsettledFrom?: number
  /** Bytes after the end record (not part of the ZIP). */
  trailing = 0
  private buf: Buffer = Buffer.alloc(0)
  /** Offset in the file of buf[0]. */
  private offset: number
  private phase: Phase = 'header'
  private current?: Current
  private centralStart = -1
  private centralCount = 0
  private cursor = 0
  private centralCursor = 0
  /** The input has ended. */
  private final = false
  private zip64End?: { count: number; centralSize: number; centralOffset: number }
  private readonly inflater = new RawInflater()
  /** Entries read and verified. */
  private settledCount: number
  /** Reading with a central directory index and nothing to resume: entries are matched with the
   *  index, not recorded again. */
  private readonly indexed: boolean

  constructor(private readonly o: ScanOptions = {}) {
    this.table = o.resume?.table ?? new EntryTable()
    this.offset = o.resume?.offset ?? 0
    this.settledCount = this.table.count
    this.indexed = o.central !== undefined && o.resume === undefined
  }

  /** The end record has been read: the ZIP is complete. */
  get complete(): boolean {
    return this.phase === 'done'
  }

  /** Bytes seen so far, from the start of the file. */
  get position(): number {
    return this.offset + this.buf.length
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.phase === 'unsettled') return
    if (this.phase === 'done') {
      this.trailing += chunk.length
      return
    }
    // Leftover bytes are copied: a caller may reuse its read buffer.
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    let at = 0
    for (;;) {
      let next = this.step(at)
      if (typeof next !== 'number') next = await next
      if (next < 0) break
      at = next
      const phase = this.phase as Phase
      if (phase === 'unsettled') {
        this.buf = Buffer.alloc(0)
        return
      }
      if (phase === 'done') {
        this.trailing += this.buf.length - at
        at = this.buf.length
        break
      }
    }
    this.offset += at
    this.buf = at === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(at))
  }

  /** The input has ended: rejects unless the ZIP was complete. */
  async end(): Promise<void> {
    // What is left is all there is: a descriptor entry's one-call inflate is tried on it now.
    this.final = true
    if (this.buf.length && this.phase !== 'done') await this.write(Buffer.alloc(0))
    const error = this.incomplete()
    if (error) throw error
  }

  private incomplete(): InvalidZipError | undefined {
    if (this.phase === 'done' || this.phase === 'unsettled') return undefined
    const c = this.current
    if (c && c.header.method === STORED && !c.known) {
      // No signed descriptor after a stored entry: its end is known only from the central directory.
      this.unsettledFrom = c.header.offset
      this.phase = 'unsettled'
      return undefined
    }
    this.current?.inflater?.destroy()
    const size = this.position
    if (size === 0) return new InvalidZipError('not a valid ZIP: the body is empty')
    const where = this.current ? `inside entry "${this.current.header.name}"` : this.phase === 'header' && this.table.count === 0 ? 'before its first entry' : "before the ZIP's end record"
    return new InvalidZipError(`not a valid ZIP: it ends after ${size} bytes, ${where}`)
  }

  /** One step of parsing at buf[at]: the new position, or -1 when more bytes are needed. */
  private step(at: number): Step {
    const buf = this.buf
    const avail = buf.length - at
    switch (this.phase) {
      case 'header': {
        if (avail < 4) return -1
        const sig = buf.readUInt32LE(at)
        if (sig === LOCAL_SIG) return this.localHeader(at)
        if (sig === CENTRAL_SIG || sig === ZIP64_EOCD_SIG || sig === EOCD_SIG) {
          this.phase = 'central'
          this.centralStart = this.offset + at
          return at
        }
        throw this.notZip(at)
      }
      case 'data':
        return this.data(at)
      case 'descriptor':
        return this.descriptor(at)
      case 'central':
        return this.central(at)
      case 'end':
        return this.endRecord(at)
      default:
        return -1
    }
  }

  private notZip(at: number): InvalidZipError {
    const where = this.offset + at
    if (where === 0) {
      const start = this.buf.subarray(at, at + 40).toString('latin1').replace(/[^\x20-\x7e]/g, '.')
      return new InvalidZipError(`not a valid ZIP: it does not start with a ZIP header (it starts with "${start}")`)
    }
    return new InvalidZipError(`not a valid ZIP: no ZIP header at offset ${where}${this.table.count ? `, after ${this.table.count} entries` : ''}`)
  }

  private localHeader(at: number): number {
    const buf = this.buf
    if (buf.length - at < 30) return -1
    const nameLength = buf.readUInt16LE(at + 26)
    const extraLength = buf.readUInt16LE(at + 28)
    const end = at + 30 + nameLength + extraLength
    if (buf.length < end) return -1
    const flags = buf.readUInt16LE(at + 6)
    const method = buf.readUInt16LE(at + 8)
    const rawName = buf.subarray(at + 30, at + 30 + nameLength)
    const name = decodeName(rawName, flags)
    const offset = this.offset + at
    if (flags & 0x1) throw new InvalidZipError(`not a valid ZIP: entry "${name}" is encrypted`, false)
    if (method !== STORED && method !== DEFLATED) {
      throw new InvalidZipError(`not a valid ZIP: entry "${name}" uses compression method ${method} (only stored and deflated are read)`, false)
    }
    const climbs = climbsOut(name)
    if (climbs) throw new InvalidZipError(`refusing the ZIP: entry "${name}" ${climbs}`, false)
    let compressedSize = buf.readUInt32LE(at + 18)
    let size = buf.readUInt32LE(at + 22)
    const zip64 = findExtra(buf.subarray(at + 30 + nameLength, end), 0x0001)
    if (zip64) {
      // Local ZIP64 extra: uncompressed then compressed size, each present when its field is 0xFFFFFFFF.
      let p = 0
      if (size === 0xffffffff && zip64.length >= p + 8) {
        size = readUInt64(zip64, p)
        p += 8
      }
      if (compressedSize === 0xffffffff && zip64.length >= p + 8) compressedSize = readUInt64(zip64, p)
    }
    const descriptor = (flags & 0x8) !== 0
    let header: EntryHeader = { name, offset, method, crc32: buf.readUInt32LE(at + 14), compressedSize, size, descriptor }
    let known = !descriptor
    const nameHash = crc32(rawName)
    const central = this.o.central
    if (central) {
      const i = central.indexOf(offset, this.centralCursor)
      if (i < 0) throw new InvalidZipError(`not a valid ZIP: entry "${name}" at offset ${offset} is not in the central directory`)
      this.centralCursor = i + 1
      if (central.nameHashes[i] !== nameHash) throw new InvalidZipError(`not a valid ZIP: the central directory names the entry at offset ${offset} differently from its local header ("${name}")`)
      if (central.listed[i]) throw new InvalidZipError(`not a valid ZIP: the entry at offset ${offset} appears twice`)
      central.listed[i] = 1
      header = { ...header, crc32: central.crcs[i], compressedSize: central.compressedSizes[i], size: central.sizes[i] }
      known = true
    }
    this.current = {
      header,
      dataStart: this.offset + end,
      zip64: zip64 !== undefined,
      sink: this.o.entry?.(header),
      crc: 0,
      out: 0,
      consumed: 0,
      known,
      nextTry: 0,
      nameHash
    }
    this.phase = 'data'
    return end
  }

  private output(c: Current, bytes: Buffer): void {
    c.crc = crc32(bytes, c.crc)
    c.out += bytes.length
    if (c.known && c.out > c.header.size) throw corrupt(c.header, `it inflates to more than the ${c.header.size} bytes the ZIP says`)
    c.sink?.data(bytes)
  }

  private data(at: number): Step {
    const c = this.current!
    const buf = this.buf
    const avail = buf.length - at
    const h = c.header
    if (h.method === STORED && !c.known) return this.seekDescriptor(c, at)
    if (h.method === STORED) {
      const n = Math.min(avail, h.compressedSize - c.consumed)
      if (n > 0) this.output(c, buf.subarray(at, at + n))
      c.consumed += n
      if (c.consumed < h.compressedSize) return n > 0 ? at + n : -1
      return this.dataEnd(at + n)
    }
    if (c.inflater) return this.inflateStreaming(c, at)
    if (c.known) {
      if (h.compressedSize > SYNC_COMPRESSED_MAX || h.size > SYNC_OUTPUT_MAX) return this.startStreaming(c, at)
      if (avail < h.compressedSize) return -1
      const inflated = inflateOnce(this.inflater, h, buf.subarray(at, at + h.compressedSize), h.size)
      if (inflated === 'more') throw corrupt(h, `its deflate data does not end within its ${h.compressedSize} bytes`)
      if (inflated === 'large') throw corrupt(h, `it inflates to more than the ${h.size} bytes the ZIP says`)
      if (inflated.consumed !== h.compressedSize) throw corrupt(h, `its deflate data ends after ${inflated.consumed} of ${h.compressedSize} bytes`)
      this.output(c, inflated.output)
      c.consumed = inflated.consumed
      return this.dataEnd(at + inflated.consumed)
    }
    // Sizes follow the data: inflate what has arrived; when the deflate stream ends inside it, the
    // entry's end is found. Tried again once twice as many bytes are there, so the work stays linear.
    if (avail < c.nextTry && !this.final) return -1
    const window = Math.min(avail, SYNC_COMPRESSED_MAX)
    const attempt = inflateOnce(this.inflater, h, buf.subarray(at, at + window), SYNC_OUTPUT_MAX)
    if (attempt === 'large' || (attempt === 'more' && window === SYNC_COMPRESSED_MAX)) return this.startStreaming(c, at)
    if (attempt === 'more') {
      c.nextTry = Math.max(avail * 2, 1024)
      return -1
    }
    this.output(c, attempt.output)
    c.consumed = attempt.consumed
    return this.dataEnd(at + attempt.consumed)
  }

  /** A stored entry whose sizes follow it: its data ends where a signed data descriptor follows whose
   *  CRC-32 and sizes match the bytes before it (a false match needs a 96-bit coincidence). The
   *  last bytes are held back in case a descriptor starts there. */
  private seekDescriptor(c: Current, at: number): Step {
    const buf = this.buf
    for (let from = at; ; ) {
      const p = buf.indexOf(DESCRIPTOR_SIG_BYTES, from)
      if (p < 0 || (buf.length < p + 24 && !this.final)) {
        // Keep what could be the start of a descriptor: from its signature, or the part of one at
        // the very end (kept bytes are copied with the next chunk, so only those).
        const keep = p >= 0 ? p : Math.max(at, buf.length - signaturePrefixAtEnd(buf))
        if (keep > at) this.output(c, buf.subarray(at, keep))
        c.consumed += keep - at
        return keep > at ? keep : -1
      }
      if (buf.length >= p + 16) {
        const crc = crc32(buf.subarray(at, p), c.crc) >>> 0
        const length = c.consumed + (p - at)
        const narrow = buf.readUInt32LE(p + 8) === length % 0x100000000 && buf.readUInt32LE(p + 12) === length % 0x100000000
        const wide = buf.length >= p + 24 && readUInt64(buf, p + 8) === length && readUInt64(buf, p + 16) === length
        if (buf.readUInt32LE(p + 4) === crc && (narrow || wide)) {
          this.output(c, buf.subarray(at, p))
          c.consumed = length
          return this.dataEnd(p)
        }
      }
      // Not the descriptor: the bytes up to and including p are data.
      this.output(c, buf.subarray(at, p + 1))
      c.consumed += p + 1 - at
      at = from = p + 1
    }
  }

  private async startStreaming(c: Current, at: number): Promise<number> {
    c.inflater = new Inflater(c.header, bytes => this.output(c, bytes))
    return this.inflateStreaming(c, at)
  }

  private async inflateStreaming(c: Current, at: number): Promise<number> {
    const inflater = c.inflater!
    const h = c.header
    const avail = this.buf.length - at
    if (c.known) {
      const n = Math.min(avail, h.compressedSize - c.consumed)
      if (n > 0) await inflater.write(this.buf.subarray(at, at + n))
      c.consumed += n
      if (c.consumed < h.compressedSize) return n > 0 ? at + n : -1
      await inflater.end()
      if (inflater.consumed !== h.compressedSize) throw corrupt(h, `its deflate data ends after ${inflater.consumed} of ${h.compressedSize} bytes`)
      c.inflater = undefined
      return this.dataEnd(at + n)
    }
    if (avail === 0) return -1
    const before = inflater.consumed
    await inflater.write(this.buf.subarray(at))
    if (inflater.consumed - before === avail && !inflater.ended) return at + avail
    // The deflate stream ended inside these bytes.
    await inflater.end()
    c.consumed = inflater.consumed
    c.inflater = undefined
    return this.dataEnd(at + (inflater.consumed - before))
  }

  /** The entry's data is read: its descriptor next, or the check. */
  private dataEnd(at: number): Step {
    const c = this.current!
    if (c.header.descriptor) {
      this.phase = 'descriptor'
      return at
    }
    const settled = this.settle(c, c.header.crc32, c.header.compressedSize, c.header.size)
    return settled ? settled.then(() => at) : at
  }

  private descriptor(at: number): Step {
    const c = this.current!
    const buf = this.buf
    if (buf.length - at < 4) return -1
    const p = at + (buf.readUInt32LE(at) === DESCRIPTOR_SIG ? 4 : 0)
    if (buf.length < p + 20 && !(this.final && buf.length >= p + 12)) return -1
    // 8-byte sizes belong with a ZIP64 local header, but writers differ (yazl writes them without
    // one): the width whose sizes match what was read is taken, the header's first.
    const narrow = { crc: buf.readUInt32LE(p), compressedSize: buf.readUInt32LE(p + 4), size: buf.readUInt32LE(p + 8), length: 12 }
    const wide = buf.length >= p + 20 ? { crc: narrow.crc, compressedSize: readUInt64(buf, p + 4), size: readUInt64(buf, p + 12), length: 20 } : narrow
    const fits = (d: typeof narrow) => d.compressedSize === c.consumed && d.size === c.out
    const [first, second] = c.zip64 ? [wide, narrow] : [narrow, wide]
    const d = fits(first) ? first : fits(second) ? second : first
    // With the central directory's sizes, those are the authority; the descriptor must agree too.
    const settled = this.settle(c, d.crc, d.compressedSize, d.size)
    return settled ? settled.then(() => p + d.length) : p + d.length
  }

  /** Checks the entry's CRC and sizes against what the ZIP says, records it, and ends its sink. */
  private settle(c: Current, crc: number, compressedSize: number, size: number): void | Promise<void> {
    const h = c.header
    if (c.crc >>> 0 !== crc >>> 0) throw corrupt(h, `CRC-32 ${hex(c.crc)} where the ZIP says ${hex(crc)}`)
    if (c.consumed !== compressedSize || c.out !== size) {
      throw corrupt(h, `it holds ${c.consumed} compressed and ${c.out} uncompressed bytes where the ZIP says ${compressedSize} and ${size}`)
    }
    if (this.o.central && (crc >>> 0 !== h.crc32 >>> 0 || compressedSize !== h.compressedSize || size !== h.size)) {
      throw corrupt(h, 'its data descriptor and its central directory record disagree')
    }
    // Reading with a central directory index (extraction), the index is the record: every local
    // entry was matched with it above, and the end checks that none was missing.
    if (!this.indexed) this.table.add(h.offset, c.consumed, c.out, c.crc >>> 0, c.nameHash)
    this.settledCount++
    if (this.o.collect && this.settledCount % COLLECT_EVERY_ENTRIES === 0) this.o.collect(this.settledCount % FULL_COLLECT_EVERY_ENTRIES === 0)
    this.current = undefined
    this.phase = 'header'
    const info = { ...h, crc32: c.crc >>> 0, compressedSize: c.consumed, size: c.out }
    const ended = c.sink?.end()
    if (ended) return ended.then(() => this.o.settled?.(info))
    this.o.settled?.(info)
  }

  private central(at: number): number {
    const buf = this.buf
    if (buf.length - at < 4) return -1
    const sig = buf.readUInt32LE(at)
    if (sig !== CENTRAL_SIG) {
      this.phase = 'end'
      return at
    }
    const parsed = parseCentralRecord(buf, at)
    if (!parsed) return -1
    const { record, nameHash, end } = parsed
    this.centralCount++
    if (this.indexed) return end
    const i = this.table.indexOf(record.offset, this.cursor)
    if (i < 0) throw new InvalidZipError(`not a valid ZIP: the central directory lists "${record.name}" at offset ${record.offset}, where the ZIP has no entry`)
    this.cursor = i + 1
    const t = this.table
    if (t.listed[i]) throw new InvalidZipError(`not a valid ZIP: the central directory lists the entry at offset ${record.offset} twice`)
    t.listed[i] = 1
    if (t.nameHashes[i] !== nameHash) throw new InvalidZipError(`not a valid ZIP: the central directory's name "${record.name}" differs from the local header's at offset ${record.offset}`)
    const header = { ...record, descriptor: false }
    if (record.crc32 >>> 0 !== t.crcs[i]) throw corrupt(header, `CRC-32 ${hex(t.crcs[i])} where the ZIP says ${hex(record.crc32)}`)
    if (record.compressedSize !== t.compressedSizes[i] || record.size !== t.sizes[i]) {
      throw corrupt(header, `it holds ${t.compressedSizes[i]} compressed and ${t.sizes[i]} uncompressed bytes where the central directory says ${record.compressedSize} and ${record.size}`)
    }
    return end
  }

  private endRecord(at: number): number {
    const buf = this.buf
    if (buf.length - at < 4) return -1
    const sig = buf.readUInt32LE(at)
    if (sig === ZIP64_EOCD_SIG) {
      if (buf.length - at < 56) return -1
      const length = 12 + readUInt64(buf, at + 4)
      if (buf.length - at < length) return -1
      this.zip64End = { count: readUInt64(buf, at + 32), centralSize: readUInt64(buf, at + 40), centralOffset: readUInt64(buf, at + 48) }
      return at + length
    }
    if (sig === ZIP64_LOCATOR_SIG) return buf.length - at < 20 ? -1 : at + 20
    if (sig !== EOCD_SIG) throw new InvalidZipError(`not a valid ZIP: unexpected bytes at offset ${this.offset + at}, inside its central directory`)
    if (buf.length - at < 22) return -1
    const commentLength = buf.readUInt16LE(at + 20)
    if (buf.length - at < 22 + commentLength) return -1
    const eocdCount = buf.readUInt16LE(at + 10)
    const count = eocdCount === 0xffff && this.zip64End ? this.zip64End.count : eocdCount
    const centralOffset = buf.readUInt32LE(at + 16)
    const start = centralOffset === 0xffffffff && this.zip64End ? this.zip64End.centralOffset : centralOffset
    const entries = this.indexed ? this.settledCount : this.table.count
    if (count !== this.centralCount || this.centralCount !== entries) {
      const missing = entries - this.centralCount
      throw new InvalidZipError(
        `not a valid ZIP: its end record counts ${count} entries, its central directory lists ${this.centralCount}` +
          (missing > 0 ? ` and ${missing} entries are in no central directory record` : '')
      )
    }
    if (start !== this.centralStart && !(entries === 0 && start === 0)) {
      throw new InvalidZipError(`not a valid ZIP: its end record puts the central directory at offset ${start}, where it is at ${this.centralStart}`)
    }
    this.phase = 'done'
    return at + 22 + commentLength
  }
}

/** A streaming raw inflater for one large entry: tells how many input bytes the deflate stream used. */
class Inflater {
  private readonly zlib = createInflateRaw()
  ended = false
  private error?: Error
  private readonly finished: Promise<void>

  constructor(
    private readonly header: EntryHeader,
    onData: (bytes: Buffer) => void
  ) {
    this.finished = new Promise<void>((resolve, reject) => {
      this.zlib.on('data', (bytes: Buffer) => {
        try {
          onData(bytes)
        } catch (e) {
          this.error = e as Error
          this.zlib.destroy()
        }
      })
      this.zlib.on('end', () => {
        this.ended = true
        resolve()
      })
      this.zlib.on('error', (e: Error) => {
        this.error ??= e instanceof InvalidZipError ? e : corrupt(header, e.message)
        reject(this.error)
      })
      this.zlib.on('close', () => (this.error ? reject(this.error) : undefined))
    })
    this.finished.catch(() => {})
  }

  /** Compressed bytes the deflate stream has used. */
  get consumed(): number {
    return this.zlib.bytesWritten
  }

  write(bytes: Buffer): Promise<void> {
    if (this.error) return Promise.reject(this.error)
    return new Promise((resolve, reject) => {
      this.zlib.write(bytes, e => (e || this.error ? reject(this.error ?? corrupt(this.header, e!.message)) : resolve()))
    })
  }

  /** Ends the input and waits for the last output. */
  async end(): Promise<void> {
    if (!this.ended) this.zlib.end()
    await this.finished
    if (this.error) throw this.error
  }

  destroy(): void {
    this.zlib.destroy()
  }
}

/** Inflates a whole deflate stream in one call (see inflate.ts); corrupt data is named as such. */
function inflateOnce(inflater: RawInflater, h: EntryHeader, bytes: Buffer, most: number): InflateOutcome {
  try {
    return inflater.inflate(bytes, most)
  } catch (e) {
    throw corrupt(h, (e as Error).message)
  }
}

function corrupt(h: EntryHeader, why: string): InvalidZipError {
  return new InvalidZipError(`entry "${h.name}" is corrupt: ${why}`)
}

/** Parses the central directory record at buf[at]; undefined when more bytes are needed. */
export function parseCentralRecord(buf: Buffer, at: number): { record: CentralRecord; nameHash: number; end: number } | undefined {
  if (buf.length - at < 46) return undefined
  const nameLength = buf.readUInt16LE(at + 28)
  const extraLength = buf.readUInt16LE(at + 30)
  const commentLength = buf.readUInt16LE(at + 32)
  const end = at + 46 + nameLength + extraLength + commentLength
  if (buf.length < end) return undefined
  const flags = buf.readUInt16LE(at + 8)
  const rawName = buf.subarray(at + 46, at + 46 + nameLength)
  let size = buf.readUInt32LE(at + 24)
  let compressedSize = buf.readUInt32LE(at + 20)
  let offset = buf.readUInt32LE(at + 42)
  const zip64 = findExtra(buf.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), 0x0001)
  if (zip64) {
    // Central ZIP64 extra: uncompressed size, compressed size, offset, each when its field is full.
    let p = 0
    if (size === 0xffffffff && zip64.length >= p + 8) {
      size = readUInt64(zip64, p)
      p += 8
    }
    if (compressedSize === 0xffffffff && zip64.length >= p + 8) {
      compressedSize = readUInt64(zip64, p)
      p += 8
    }
    if (offset === 0xffffffff && zip64.length >= p + 8) offset = readUInt64(zip64, p)
  }
  const madeOnUnix = buf[at + 5] === 3
  const record: CentralRecord = {
    name: decodeName(rawName, flags),
    offset,
    method: buf.readUInt16LE(at + 10),
    crc32: buf.readUInt32LE(at + 16),
    compressedSize,
    size,
    unixMode: madeOnUnix ? buf.readUInt32LE(at + 38) >>> 16 : 1024
  }
  return { record, nameHash: crc32(rawName), end }
}

/** Where the central directory is, from the end records in the last bytes of the file. */
export function findCentralDirectory(tail: Buffer, fileSize: number): { offset: number; size: number; count: number } {
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== EOCD_SIG || i + 22 + tail.readUInt16LE(i + 20) !== tail.length) continue
    let count = tail.readUInt16LE(i + 10)
    let size = tail.readUInt32LE(i + 12)
    let offset = tail.readUInt32LE(i + 16)
    const locator = i - 20
    if (locator >= 0 && tail.readUInt32LE(locator) === ZIP64_LOCATOR_SIG) {
      const at = readUInt64(tail, locator + 8) - (fileSize - tail.length)
      if (at >= 0 && at + 56 <= tail.length && tail.readUInt32LE(at) === ZIP64_EOCD_SIG) {
        count = readUInt64(tail, at + 32)
        size = readUInt64(tail, at + 40)
        offset = readUInt64(tail, at + 48)
      }
    }
    return { offset, size, count }
  }
  throw new InvalidZipError('not a valid ZIP: no end record at its end')
}

/** Why a name would leave the folder it is extracted to, or undefined. */
function climbsOut(name: string): string | undefined {
  if (name.startsWith('/') || (name[1] === ':' && /^[a-zA-Z]:/.test(name))) return 'has an absolute path'
  if (name.includes('..') && name.split('/').includes('..')) return 'has a path that climbs out of the folder ("..")'
}

function findExtra(extra: Buffer, id: number): Buffer | undefined {
  for (let p = 0; p + 4 <= extra.length; ) {
    const length = extra.readUInt16LE(p + 2)
    if (extra.readUInt16LE(p) === id) return extra.subarray(p + 4, Math.min(extra.length, p + 4 + length))
    p += 4 + length
  }
  return undefined
}

function readUInt64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x100000000
}

/** Code page 437, the ZIP format's default for names without the UTF-8 flag (bytes 0x80–0xFF). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0'

/** The entry name: UTF-8 when flag bit 11 says so (or it is ASCII), else code page 437; backslashes
 *  (written by some Windows tools) become slashes. */
export function decodeName(raw: Buffer, flags: number): string {
  let name: string
  if (flags & 0x800 || isAscii(raw)) name = raw.toString('utf8')
  else name = Array.from(raw, b => (b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80])).join('')
  return name.includes('\\') ? name.replace(/\\/g, '/') : name
}

/** How many of the buffer's last bytes (up to 3) are the start of a descriptor signature. */
function signaturePrefixAtEnd(buf: Buffer): number {
  for (let n = 3; n > 0; n--) {
    if (buf.length >= n && buf.subarray(buf.length - n).equals(DESCRIPTOR_SIG_BYTES.subarray(0, n))) return n
  }
  return 0
}

function isAscii(raw: Buffer): boolean {
  for (let i = 0; i < raw.length; i++) if (raw[i] >= 0x80) return false
  return true
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}
