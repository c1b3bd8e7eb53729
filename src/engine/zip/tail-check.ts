// The end of a ZIP read front to back: each central directory record is compared with the entry the
// scan verified at its offset (name, CRC-32, sizes), and the end records must count them all and
// point at where the central directory really began.
import { quoted } from '../../base/untrusted.js'
import type { EntryTable } from './entry-table.js'
import { CENTRAL_SIG, type CentralFacts, centralRecordName, corrupt, EOCD_SIG, hex, InvalidZipError, parseCentralFacts, readUInt64, ZIP64_EOCD_SIG, ZIP64_LOCATOR_SIG } from './format.js'

/** A parse step's result: the next position, -1 for "more bytes needed", or 'records-end' once the
 *  central directory's records are over, 'done' after the end record. */
export type TailStep = number | 'records-end' | { done: number }

export class TailCheck {
  private count = 0
  private cursor = 0
  private zip64End?: { count: number; centralOffset: number }

  constructor(
    /** What the scan verified (or, reading with the index, the index: then nothing is compared). */
    private readonly table: EntryTable,
    private readonly indexed: boolean,
    /** Offset in the file where the central directory begins. */
    private readonly start: number
  ) {}

  /** The central directory record at buf[at]. */
  record(buf: Buffer, at: number): TailStep {
    if (buf.length - at < 4) return -1
    if (buf.readUInt32LE(at) !== CENTRAL_SIG) return 'records-end'
    const facts = parseCentralFacts(buf, at)
    if (!facts) return -1
    this.count++
    if (!this.indexed) this.compare(facts, () => centralRecordName(buf, at))
    return facts.end
  }

  /** `nameOf`: the record's name, decoded only to report it. */
  private compare(record: CentralFacts, nameOf: () => string): void {
    const t = this.table
    const i = t.indexOf(record.offset, this.cursor)
    if (i < 0) throw new InvalidZipError(`not a valid ZIP: the central directory lists ${quoted(nameOf())} at offset ${record.offset}, where the ZIP has no entry`)
    this.cursor = i + 1
    if (t.listed[i]) throw new InvalidZipError(`not a valid ZIP: the central directory lists the entry at offset ${record.offset} twice`)
    t.listed[i] = 1
    if (t.nameKeys[i] !== record.nameKey) throw new InvalidZipError(`not a valid ZIP: the central directory's name ${quoted(nameOf())} differs from the local header's at offset ${record.offset}`)
    if (record.crc32 >>> 0 !== t.crcs[i]) throw corrupt({ name: nameOf() }, `CRC-32 ${hex(t.crcs[i])} where the ZIP says ${hex(record.crc32)}`)
    if (record.compressedSize !== t.compressedSizes[i] || record.size !== t.sizes[i]) {
      throw corrupt({ name: nameOf() }, `it holds ${t.compressedSizes[i]} compressed and ${t.sizes[i]} uncompressed bytes where the central directory says ${record.compressedSize} and ${record.size}`)
    }
  }

  /** The ZIP64 end record, its locator, or the end record at buf[at] (`offset`: buf[0]'s place in the
   *  file); `entries`: how many the scan verified. */
  endRecord(buf: Buffer, at: number, offset: number, entries: number): TailStep {
    if (buf.length - at < 4) return -1
    const sig = buf.readUInt32LE(at)
    if (sig === ZIP64_EOCD_SIG) {
      if (buf.length - at < 56) return -1
      const length = 12 + readUInt64(buf, at + 4)
      if (buf.length - at < length) return -1
      this.zip64End = { count: readUInt64(buf, at + 32), centralOffset: readUInt64(buf, at + 48) }
      return at + length
    }
    if (sig === ZIP64_LOCATOR_SIG) return buf.length - at < 20 ? -1 : at + 20
    if (sig !== EOCD_SIG) throw new InvalidZipError(`not a valid ZIP: unexpected bytes at offset ${offset + at}, inside its central directory`)
    if (buf.length - at < 22) return -1
    const commentLength = buf.readUInt16LE(at + 20)
    if (buf.length - at < 22 + commentLength) return -1
    const eocdCount = buf.readUInt16LE(at + 10)
    const count = eocdCount === 0xffff && this.zip64End ? this.zip64End.count : eocdCount
    const centralOffset = buf.readUInt32LE(at + 16)
    const start = centralOffset === 0xffffffff && this.zip64End ? this.zip64End.centralOffset : centralOffset
    if (count !== this.count || this.count !== entries) {
      const missing = entries - this.count
      throw new InvalidZipError(
        `not a valid ZIP: its end record counts ${count} entries, its central directory lists ${this.count}` +
          (missing > 0 ? ` and ${missing} entries are in no central directory record` : '')
      )
    }
    if (start !== this.start && !(entries === 0 && start === 0)) {
      throw new InvalidZipError(`not a valid ZIP: its end record puts the central directory at offset ${start}, where it is at ${this.start}`)
    }
    return { done: at + 22 + commentLength }
  }
}
