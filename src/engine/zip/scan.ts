// A ZIP read front to back, in one pass, as its bytes arrive: local headers are parsed, each entry is
// inflated and CRC-checked while it streams past, and the central directory at the end is the
// authority every entry is compared against. Nothing seeks and nothing opens an entry twice, so the
// check of a download finishes when the download does, and memory stays small whatever the size or
// the number of entries (a few typed arrays per entry, no objects).
//
// Written by hand over node:zlib's documented API: yauzl and node-stream-zip read by random access (a
// read stream per entry, after the download), unzipper's streaming parser does not settle data
// descriptors reliably and is slow on many entries, and fflate inflates in JavaScript, slower than
// zlib (much slower when the output size is not known in advance) and does not check CRCs when it
// streams. BENCHMARKS.md has the figures.
//
// What one pass cannot settle for sure: a stored entry whose sizes follow its data (a data
// descriptor) has no length up front. Its end is taken where a signed descriptor follows whose CRC
// and sizes match what came before; when none does (the signature is optional), the scan marks the
// entry (`unsettledFrom`) and the caller finishes from disk with the central directory's sizes.
import { quoted } from '../../base/untrusted.js'
import { crc32 } from 'node:zlib'
import { Carry } from './carry.js'
import { EntryTable } from './entry-table.js'
import {
  CENTRAL_SIG,
  corrupt,
  EOCD_SIG,
  type EntryHeader,
  type EntrySink,
  hex,
  InvalidZipError,
  LOCAL_SIG,
  parseLocalHeader,
  notAZipHeader,
  parseDescriptor,
  STORED,
  storedDataEnd,
  ZIP64_EOCD_SIG
} from './format.js'
import { TailCheck } from './tail-check.js'
import { Inflater, inflateOnce, SYNC_COMPRESSED_MAX, SYNC_OUTPUT_MAX } from './inflate.js'
import { Batches } from './batch.js'

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
}

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
  nameKey: number
}

/** Reads a ZIP front to back. Feed it with write(), then end(): both throw InvalidZipError. */
export class ZipScanner {
  readonly table: EntryTable
  /** Offset of the first entry the scan could not settle (a stored entry with a data descriptor). */
  unsettledFrom?: number
  /** Bytes after the end record (not part of the ZIP). */
  trailing = 0
  /** What is parsed: the carried-over bytes and the chunk being written. */
  private buf: Buffer = Buffer.alloc(0)
  private readonly carry = new Carry()
  /** Offset in the file of buf[0]. */
  private offset: number
  private phase: Phase = 'header'
  private current?: Current
  /** The check of the central directory and end records, from where they begin. */
  private tail?: TailCheck
  private centralCursor = 0
  /** The input has ended. */
  private final = false
  /** Entries read and verified. */
  private settledCount: number
  /** Reading with a central directory index and nothing to resume: entries are matched with the
   *  index, not recorded again. */
  private readonly indexed: boolean
  /** Small entries ahead, inflated together (batch.ts). */
  private readonly batches = new Batches()

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
    // Leftover bytes are copied into the carry: a caller may reuse its read buffer.
    this.buf = this.carry.join(chunk)
    this.batches.arrived(this.buf, this.offset, this.final)
    let at = 0
    for (;;) {
      let next = this.step(at)
      if (typeof next !== 'number') next = await next
      if (next < 0) break
      at = next
      const phase = this.phase as Phase
      if (phase === 'unsettled') {
        this.buf = this.carry.keep(this.buf, this.buf.length)
        return
      }
      if (phase === 'done') {
        this.trailing += this.buf.length - at
        at = this.buf.length
        break
      }
    }
    this.offset += at
    this.buf = this.carry.keep(this.buf, at)
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
    const where = this.current ? `inside entry ${quoted(this.current.header.name)}` : this.phase === 'header' && this.table.count === 0 ? 'before its first entry' : "before the ZIP's end record"
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
        if (sig === LOCAL_SIG) {
          const batch = this.batches.atHeader(buf, at, this.offset, this.final)
          if (batch === 'wait') return -1
          return batch ? batch.then(() => this.localHeader(at)) : this.localHeader(at)
        }
        if (sig === CENTRAL_SIG || sig === ZIP64_EOCD_SIG || sig === EOCD_SIG) {
          this.phase = 'central'
          this.tail = new TailCheck(this.table, this.indexed, this.offset + at)
          return at
        }
        throw notAZipHeader(buf, at, this.offset + at, this.table.count)
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

  private localHeader(at: number): number {
    const parsed = parseLocalHeader(this.buf, at, this.offset + at)
    if (!parsed) return -1
    const { end, nameKey, zip64 } = parsed
    let header = parsed.header
    const { name, offset } = header
    let known = !header.descriptor
    const central = this.o.central
    if (central) {
      const i = central.indexOf(offset, this.centralCursor)
      if (i < 0) throw new InvalidZipError(`not a valid ZIP: entry ${quoted(name)} at offset ${offset} is not in the central directory`)
      this.centralCursor = i + 1
      if (central.nameKeys[i] !== nameKey) throw new InvalidZipError(`not a valid ZIP: the central directory names the entry at offset ${offset} differently from its local header (${quoted(name)})`)
      if (central.listed[i]) throw new InvalidZipError(`not a valid ZIP: the entry at offset ${offset} appears twice`)
      central.listed[i] = 1
      header = { ...header, crc32: central.crcs[i], compressedSize: central.compressedSizes[i], size: central.sizes[i] }
      known = true
    }
    this.current = {
      header,
      dataStart: this.offset + end,
      zip64,
      sink: this.o.entry?.(header),
      crc: 0,
      out: 0,
      consumed: 0,
      known,
      nextTry: 0,
      nameKey
    }
    this.phase = 'data'
    return end
  }

  /** `whole`: these bytes are the entry's entire content (a small entry inflated in one call);
   *  `crc`: their CRC-32, when zlib has made it already. */
  private output(c: Current, bytes: Buffer, whole = false, crc?: number): void {
    c.crc = crc ?? crc32(bytes, c.crc)
    c.out += bytes.length
    if (c.known && c.out > c.header.size) throw corrupt(c.header, `it inflates to more than the ${c.header.size} bytes the ZIP says`)
    if (whole && c.sink?.whole) c.sink.whole(bytes)
    else c.sink?.data(bytes)
  }

  private data(at: number): Step {
    const c = this.current!
    const buf = this.buf
    const avail = buf.length - at
    const h = c.header
    if (h.method === STORED && !c.known) return this.seekDescriptor(c, at)
    if (h.method === STORED) {
      const n = Math.min(avail, h.compressedSize - c.consumed)
      if (n > 0) this.output(c, buf.subarray(at, at + n), c.consumed === 0 && n === h.compressedSize)
      c.consumed += n
      if (c.consumed < h.compressedSize) return n > 0 ? at + n : -1
      return this.dataEnd(at + n)
    }
    if (c.inflater) return this.inflateStreaming(c, at)
    const ready = c.consumed === 0 ? this.batches.take(h, c.known) : undefined
    if (ready) {
      this.output(c, ready.output, true, ready.crc32)
      c.consumed = ready.compressedSize
      return this.dataEnd(at + ready.compressedSize)
    }
    if (c.known) {
      if (h.compressedSize > SYNC_COMPRESSED_MAX || h.size > SYNC_OUTPUT_MAX) return this.startStreaming(c, at)
      if (avail < h.compressedSize) return -1
      const inflated = inflateOnce(h, buf.subarray(at, at + h.compressedSize), h.size, h.size)
      if (inflated === 'more') throw corrupt(h, `its deflate data does not end within its ${h.compressedSize} bytes`)
      if (inflated === 'large') throw corrupt(h, `it inflates to more than the ${h.size} bytes the ZIP says`)
      if (inflated.consumed !== h.compressedSize) throw corrupt(h, `its deflate data ends after ${inflated.consumed} of ${h.compressedSize} bytes`)
      this.output(c, inflated.output, true)
      c.consumed = inflated.consumed
      return this.dataEnd(at + inflated.consumed)
    }
    // Sizes follow the data: inflate what has arrived; when the deflate stream ends inside it, the
    // entry's end is found. Tried again once twice as many bytes are there, so the work stays linear.
    if (avail < c.nextTry && !this.final) return -1
    const window = Math.min(avail, SYNC_COMPRESSED_MAX)
    const attempt = inflateOnce(h, buf.subarray(at, at + window), SYNC_OUTPUT_MAX)
    if (attempt === 'large' || (attempt === 'more' && window === SYNC_COMPRESSED_MAX)) return this.startStreaming(c, at)
    if (attempt === 'more') {
      c.nextTry = Math.max(avail * 2, 1024)
      return -1
    }
    this.output(c, attempt.output, true)
    c.consumed = attempt.consumed
    return this.dataEnd(at + attempt.consumed)
  }

  /** A stored entry whose sizes follow it: its data runs to a signed descriptor that matches it
   *  (format.ts, storedDataEnd), or as far as the bytes surely are data. */
  private seekDescriptor(c: Current, at: number): Step {
    const { end, found } = storedDataEnd(this.buf, at, c.crc, c.consumed, this.final)
    if (end > at) this.output(c, this.buf.subarray(at, end))
    c.consumed += end - at
    if (found) return this.dataEnd(end)
    return end > at ? end : -1
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
    const d = parseDescriptor(this.buf, at, { compressedSize: c.consumed, size: c.out, zip64: c.zip64, final: this.final })
    if (!d) return -1
    // With the central directory's sizes, those are the authority; the descriptor must agree too.
    const settled = this.settle(c, d.crc, d.compressedSize, d.size)
    return settled ? settled.then(() => d.end) : d.end
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
    if (!this.indexed) this.table.add(h.offset, c.consumed, c.out, c.crc >>> 0, c.nameKey)
    this.settledCount++
    this.current = undefined
    this.phase = 'header'
    // The header becomes the record of what was verified (it is the entry's own object).
    h.crc32 = c.crc >>> 0
    h.compressedSize = c.consumed
    h.size = c.out
    const ended = c.sink?.end()
    if (ended) return ended.then(() => this.o.settled?.(h))
    this.o.settled?.(h)
  }

  private central(at: number): number {
    const step = this.tail!.record(this.buf, at)
    if (step !== 'records-end') return step as number
    this.phase = 'end'
    return at
  }

  private endRecord(at: number): number {
    const step = this.tail!.endRecord(this.buf, at, this.offset, this.indexed ? this.settledCount : this.table.count)
    if (typeof step === 'number') return step
    this.phase = 'done'
    return (step as { done: number }).done
  }
}

