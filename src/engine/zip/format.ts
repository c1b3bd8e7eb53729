// The ZIP format's records and names: signatures, the facts a local header or a central directory
// record gives of an entry, the end records that say where the central directory is, and how entry
// names are decoded. Pure functions over buffers: the scan (scan.ts) and the readers of a file on
// disk (central.ts) share them.
import { quoted } from '../../base/untrusted.js'
import { crc32 } from 'node:zlib'
import { bytesKey } from './name-key.js'

export const LOCAL_SIG = 0x04034b50
export const CENTRAL_SIG = 0x02014b50
export const EOCD_SIG = 0x06054b50
export const ZIP64_EOCD_SIG = 0x06064b50
export const ZIP64_LOCATOR_SIG = 0x07064b50
export const DESCRIPTOR_SIG = 0x08074b50
export const DESCRIPTOR_SIG_BYTES = Buffer.from([0x50, 0x4b, 0x07, 0x08])
export const STORED = 0
export const DEFLATED = 8

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
export interface EntryFacts {
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
  /** In place of data(), where the reader has the entry's entire content in one piece (most small
   *  entries): a sink may then use a one-call API. Valid during the call only, as data()'s. */
  whole?(bytes: Buffer): void
  /** Called once the entry is verified; a promise holds the scan back (back-pressure). */
  end(): void | Promise<void>
}

/** What the central directory says of one entry: enough to read it from disk and to extract it. */
export interface CentralRecord extends EntryFacts {
  /** Unix mode (high 16 bits of the external attributes) when made on Unix, else 0. */
  unixMode: number
}

/** The error for bytes at `where` in the file (buf[at]) that start no ZIP record, after `entries`. */
export function notAZipHeader(buf: Buffer, at: number, where: number, entries: number): InvalidZipError {
  if (where === 0) {
    const start = buf.subarray(at, at + 40).toString('latin1').replace(/[^\x20-\x7e]/g, '.')
    return new InvalidZipError(`not a valid ZIP: it does not start with a ZIP header (it starts with "${start}")`)
  }
  return new InvalidZipError(`not a valid ZIP: no ZIP header at offset ${where}${entries ? `, after ${entries} entries` : ''}`)
}

/** The error for an entry whose bytes do not match what the ZIP says of it. */
export function corrupt(h: { name: string }, why: string): InvalidZipError {
  return new InvalidZipError(`entry ${quoted(h.name)} is corrupt: ${why}`)
}

/** Parses the local header at buf[at] (at `offset` in the file); undefined when more bytes are
 *  needed. Refuses what the scan cannot read (encryption, other methods) and names that climb out. */
export function parseLocalHeader(buf: Buffer, at: number, offset: number): { header: EntryHeader; end: number; nameKey: number; zip64: boolean } | undefined {
  if (buf.length - at < 30) return undefined
  const nameLength = buf.readUInt16LE(at + 26)
  const extraLength = buf.readUInt16LE(at + 28)
  const end = at + 30 + nameLength + extraLength
  if (buf.length < end) return undefined
  const flags = buf.readUInt16LE(at + 6)
  const method = buf.readUInt16LE(at + 8)
  const rawName = buf.subarray(at + 30, at + 30 + nameLength)
  const name = decodeName(rawName, flags)
  if (flags & 0x1) throw new InvalidZipError(`not a valid ZIP: entry ${quoted(name)} is encrypted`, false)
  if (method !== STORED && method !== DEFLATED) {
    throw new InvalidZipError(`not a valid ZIP: entry ${quoted(name)} uses compression method ${method} (only stored and deflated are read)`, false)
  }
  const climbs = climbsOut(name)
  if (climbs) throw new InvalidZipError(`refusing the ZIP: entry ${quoted(name)} ${climbs}`, false)
  let compressedSize = buf.readUInt32LE(at + 18)
  let size = buf.readUInt32LE(at + 22)
  const zip64 = extraLength ? findExtra(buf.subarray(at + 30 + nameLength, end), 0x0001) : undefined
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
  const header: EntryHeader = { name, offset, method, crc32: buf.readUInt32LE(at + 14), compressedSize, size, descriptor }
  return { header, end, nameKey: bytesKey(buf, at + 30, at + 30 + nameLength), zip64: zip64 !== undefined }
}

/** What a central directory record says of its entry, less its name (see centralRecordName). */
export interface CentralFacts extends Omit<CentralRecord, 'name'> {
  /** The name's key (name-key.ts), and where the record ends. */
  nameKey: number
  end: number
}

/** The central directory record at buf[at] without its name decoded (a check that compares records
 *  needs the name only to report one); undefined when more bytes are needed. */
export function parseCentralFacts(buf: Buffer, at: number): CentralFacts | undefined {
  if (buf.length - at < 46) return undefined
  const nameLength = buf.readUInt16LE(at + 28)
  const extraLength = buf.readUInt16LE(at + 30)
  const commentLength = buf.readUInt16LE(at + 32)
  const end = at + 46 + nameLength + extraLength + commentLength
  if (buf.length < end) return undefined
  let size = buf.readUInt32LE(at + 24)
  let compressedSize = buf.readUInt32LE(at + 20)
  let offset = buf.readUInt32LE(at + 42)
  const zip64 = extraLength ? findExtra(buf.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength), 0x0001) : undefined
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
  return {
    offset,
    method: buf.readUInt16LE(at + 10),
    crc32: buf.readUInt32LE(at + 16),
    compressedSize,
    size,
    unixMode: madeOnUnix ? buf.readUInt32LE(at + 38) >>> 16 : 1024,
    nameKey: bytesKey(buf, at + 46, at + 46 + nameLength),
    end
  }
}

/** The name of the central directory record at buf[at] (whole in buf). */
export function centralRecordName(buf: Buffer, at: number): string {
  return decodeName(buf.subarray(at + 46, at + 46 + buf.readUInt16LE(at + 28)), buf.readUInt16LE(at + 8))
}

/** Parses the central directory record at buf[at]; undefined when more bytes are needed. */
export function parseCentralRecord(buf: Buffer, at: number): { record: CentralRecord; nameKey: number; end: number } | undefined {
  const facts = parseCentralFacts(buf, at)
  if (!facts) return undefined
  const { nameKey, end, ...record } = facts
  return { record: { name: centralRecordName(buf, at), ...record }, nameKey, end }
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
export function climbsOut(name: string): string | undefined {
  if (name.startsWith('/') || (name[1] === ':' && /^[a-zA-Z]:/.test(name))) return 'has an absolute path'
  if (name.includes('..') && name.split('/').includes('..')) return 'has a path that climbs out of the folder ("..")'
}

export function findExtra(extra: Buffer, id: number): Buffer | undefined {
  for (let p = 0; p + 4 <= extra.length; ) {
    const length = extra.readUInt16LE(p + 2)
    if (extra.readUInt16LE(p) === id) return extra.subarray(p + 4, Math.min(extra.length, p + 4 + length))
    p += 4 + length
  }
  return undefined
}

export function readUInt64(buf: Buffer, at: number): number {
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

function isAscii(raw: Buffer): boolean {
  for (let i = 0; i < raw.length; i++) if (raw[i] >= 0x80) return false
  return true
}

export function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}

/** How many of the buffer's last bytes (up to 3) are the start of a descriptor signature. */
export function signaturePrefixAtEnd(buf: Buffer): number {
  for (let n = 3; n > 0; n--) {
    if (buf.length >= n && buf.subarray(buf.length - n).equals(DESCRIPTOR_SIG_BYTES.subarray(0, n))) return n
  }
  return 0
}

/** Where the data of a stored entry whose sizes follow it ends in buf, read from `at` (`crc` and
 *  `length`: its CRC-32 and byte count before `at`): at a signed data descriptor whose CRC-32 and
 *  sizes match the bytes before it (`found`; a false match needs a 96-bit coincidence), else as far
 *  as the bytes surely are data: what could be the start of a descriptor is held back (from a
 *  signature without enough bytes after it unless `final`, or part of one at the very end). */
export function storedDataEnd(buf: Buffer, at: number, crc: number, length: number, final: boolean): { end: number; found: boolean } {
  let crcTo = at
  for (let p = buf.indexOf(DESCRIPTOR_SIG_BYTES, at); p >= 0; p = buf.indexOf(DESCRIPTOR_SIG_BYTES, p + 1)) {
    if (buf.length < p + 24 && !final) return { end: p, found: false }
    crc = crc32(buf.subarray(crcTo, p), crc)
    crcTo = p
    if (buf.length >= p + 16 && isSignedDescriptorOf(buf, p, crc >>> 0, length + (p - at))) return { end: p, found: true }
  }
  return { end: Math.max(at, buf.length - signaturePrefixAtEnd(buf)), found: false }
}

/** A signed data descriptor at buf[p] (its 16 or 24 bytes there) that names this CRC-32 and, as
 *  both sizes, `length`: the end of a stored entry (a false match needs a 96-bit coincidence). */
export function isSignedDescriptorOf(buf: Buffer, p: number, crc: number, length: number): boolean {
  const narrow = buf.readUInt32LE(p + 8) === length % 0x100000000 && buf.readUInt32LE(p + 12) === length % 0x100000000
  const wide = buf.length >= p + 24 && readUInt64(buf, p + 8) === length && readUInt64(buf, p + 16) === length
  return buf.readUInt32LE(p + 4) === crc && (narrow || wide)
}

/** The data descriptor at buf[at], signed or not; undefined when more bytes are needed. `read` is
 *  what the scan counted, to choose between 4- and 8-byte sizes: they belong with a ZIP64 local
 *  header, but writers differ (yazl writes them without one), so the width whose sizes match is
 *  taken, the header's first. `final`: no more bytes will come. */
export function parseDescriptor(
  buf: Buffer,
  at: number,
  read: { compressedSize: number; size: number; zip64: boolean; final: boolean }
): { crc: number; compressedSize: number; size: number; end: number } | undefined {
  if (buf.length - at < 4) return undefined
  const p = at + (buf.readUInt32LE(at) === DESCRIPTOR_SIG ? 4 : 0)
  if (buf.length < p + 20 && !(read.final && buf.length >= p + 12)) return undefined
  const crc = buf.readUInt32LE(p)
  const wideThere = buf.length >= p + 20
  const narrowFits = buf.readUInt32LE(p + 4) === read.compressedSize && buf.readUInt32LE(p + 8) === read.size
  const wideFits = wideThere && readUInt64(buf, p + 4) === read.compressedSize && readUInt64(buf, p + 12) === read.size
  // The header's width when its sizes fit or the other's do not either; else the other.
  const wide = wideThere && (read.zip64 ? wideFits || !narrowFits : wideFits && !narrowFits)
  if (wide) return { crc, compressedSize: readUInt64(buf, p + 4), size: readUInt64(buf, p + 12), end: p + 20 }
  return { crc, compressedSize: buf.readUInt32LE(p + 4), size: buf.readUInt32LE(p + 8), end: p + 12 }
}
