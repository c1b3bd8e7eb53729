// The manifest: the SHA-256 of every file entry's uncompressed bytes, in the format of `sha256sum`
// (`<hex>  <path>`, paths as in the ZIP, UTF-8), so that `sha256sum -c` in the extracted folder checks
// the unpacked export. It is made in the pass that already inflates every entry to check its CRC-32:
// each entry's bytes are hashed as they stream past, and nothing is read twice.
//
// The manifest file is the one list of the entries: their sizes and CRC-32s, which the record and
// the change report also need, stay in typed arrays (12 bytes an entry) in the manifest's order, and
// manifestEntries() reads the file back beside them.
import { createHash, type Hash, hash } from 'node:crypto'
import { rmSync } from 'node:fs'
import type { EntryFacts, EntrySink } from '../zip/format.js'
import { LineFile, linesOf } from './line-file.js'

/** A file entry as the evidence knows it. */
export interface FileDigest {
  path: string
  size: number
  /** CRC-32 as 8 hex digits. */
  crc32: string
  /** Absent for an entry known only from a ZIP's central directory. */
  sha256?: string
}

export interface Manifest {
  /** The sha256sum file. */
  path: string
  /** The SHA-256 of the manifest file itself. */
  sha256: string
  /** File entries listed (directories are not). */
  files: number
  /** Each listed entry's size and CRC-32, in the manifest's order. */
  sizes: Float64Array
  crcs: Uint32Array
}

/** Hashes each file entry as the ZIP check reads it, and writes its line once it is verified. The
 *  check reads one entry at a time, so one sink (this object) serves them all. */
export class ManifestWriter implements EntrySink {
  private readonly manifest: LineFile
  /** The entry being read: its hash while its bytes arrive in pieces, its digest once known. */
  private hash?: Hash
  private digest = ''
  private files = 0
  private sizes = new Float64Array(1024)
  private crcs = new Uint32Array(1024)

  constructor(manifestPath: string) {
    this.manifest = new LineFile(manifestPath, true)
  }

  /** The sink that hashes one entry's bytes (this writer); none for a directory. */
  sink(name: string): EntrySink | undefined {
    if (name.endsWith('/')) return undefined
    this.hash = undefined
    this.digest = EMPTY_SHA256
    return this
  }

  data(bytes: Buffer): void {
    ;(this.hash ??= createHash('sha256')).update(bytes)
  }

  /** A small entry in one piece: one call, no hash object. */
  whole(bytes: Buffer): void {
    this.digest = hash('sha256', bytes, 'hex')
  }

  end(): void {
    if (this.hash) this.digest = this.hash.digest('hex')
    this.hash = undefined
  }

  /** The entry is verified: its line in the manifest, its size and CRC-32 beside. */
  settled(entry: Pick<EntryFacts, 'name' | 'size' | 'crc32'>): void {
    if (entry.name.endsWith('/')) return
    this.manifest.write(sha256sumLine(this.digest, entry.name))
    if (this.files === this.sizes.length) this.grow()
    this.sizes[this.files] = entry.size
    this.crcs[this.files] = entry.crc32
    this.files++
  }

  finish(): Manifest {
    const sha256 = this.manifest.close()!
    return { path: this.manifest.path, sha256, files: this.files, sizes: this.sizes.subarray(0, this.files), crcs: this.crcs.subarray(0, this.files) }
  }

  /** The download failed: nothing of it stays. */
  discard(): void {
    this.manifest.abandon()
    rmSync(this.manifest.path, { force: true })
  }

  private grow(): void {
    const sizes = new Float64Array(this.sizes.length * 2)
    sizes.set(this.sizes)
    const crcs = new Uint32Array(this.crcs.length * 2)
    crcs.set(this.crcs)
    this.sizes = sizes
    this.crcs = crcs
  }
}

/** The SHA-256 of no bytes: an empty entry gets no data() call. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

/** `sha256sum`'s line: a name holding a backslash or a line break is escaped, and the line then
 *  starts with a backslash (GNU coreutils' rule, which `sha256sum -c` reads back). */
export function sha256sumLine(hex: string, name: string): string {
  if (!/[\\\n\r]/.test(name)) return `${hex}  ${name}\n`
  return `\\${hex}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}\n`
}

/** A file entry as the evidence reads it back (from the manifest, or a previous export's ZIP), one
 *  per entry. Made with `new`, not as an object literal: V8 may decide from what one GC saw
 *  to allocate a literal's objects straight in the old generation (allocation-site pretenuring), and
 *  every young string they point to then outlives each young-generation GC until a full one. That
 *  grew V8's young generation to its largest while a record was written (BENCHMARKS.md). */
export class FileEntry implements FileDigest {
  constructor(
    readonly path: string,
    readonly size: number,
    readonly crc32: string,
    readonly sha256?: string
  ) {}
}

/** A line of sha256sumLine's, read back, with the entry's size and CRC-32 (which stay beside it). */
export function parseSha256sumLine(line: string, size: number, crc32: string): FileEntry {
  if (!line.startsWith('\\')) return new FileEntry(line.slice(66), size, crc32, line.slice(0, 64))
  const path = line.slice(67).replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'))
  return new FileEntry(path, size, crc32, line.slice(1, 65))
}

/** Every file entry of a manifest, in its order: the file's lines with the sizes and CRC-32s. */
export async function* manifestEntries(m: Manifest): AsyncIterable<FileDigest> {
  let i = 0
  for await (const line of linesOf(m.path)) {
    if (!line) continue
    if (i >= m.files) throw new Error(`the manifest ${m.path} has more lines than entries`)
    yield parseSha256sumLine(line, m.sizes[i], crcHex(m.crcs[i]))
    i++
  }
  if (i !== m.files) throw new Error(`the manifest ${m.path} lists ${i} of its ${m.files} entries`)
}

export function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, '0')
}
