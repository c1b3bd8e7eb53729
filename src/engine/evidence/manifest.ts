// The manifest: the SHA-256 of every file entry's uncompressed bytes, in the format of `sha256sum`
// (`<hex>  <path>`, paths as in the ZIP, UTF-8), so that `sha256sum -c` in the extracted folder checks
// the unpacked export. It is made in the pass that already inflates every entry to check its CRC-32:
// each entry's bytes are hashed as they stream past, and nothing is read twice.
//
// Beside it, one line per file entry with its size, CRC-32 and SHA-256 (the entry list), which the
// export record and the change report are made from without holding the entries in memory.
import { createHash } from 'node:crypto'
import { rmSync } from 'node:fs'
import type { EntryFacts, EntrySink } from '../zip/format.js'
import { LineFile } from './line-file.js'

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
  /** One JSON line per file entry ([path, size, crc32, sha256]); removed once the record is made. */
  entryList: string
}

export class ManifestWriter {
  private readonly manifest: LineFile
  private readonly list: LineFile
  private digest = ''
  private files = 0

  constructor(manifestPath: string, entryListPath: string) {
    this.manifest = new LineFile(manifestPath, true)
    this.list = new LineFile(entryListPath)
  }

  /** The sink that hashes one entry's bytes; none for a directory. */
  sink(name: string): EntrySink | undefined {
    if (name.endsWith('/')) return undefined
    const hash = createHash('sha256')
    return {
      data: bytes => void hash.update(bytes),
      end: () => void (this.digest = hash.digest('hex'))
    }
  }

  /** The entry is verified: its line in the manifest and in the entry list. */
  settled(entry: Pick<EntryFacts, 'name' | 'size' | 'crc32'>): void {
    if (entry.name.endsWith('/')) return
    this.manifest.write(sha256sumLine(this.digest, entry.name))
    this.list.write(`${JSON.stringify([entry.name, entry.size, crcHex(entry.crc32), this.digest])}\n`)
    this.files++
  }

  finish(): Manifest {
    const sha256 = this.manifest.close()!
    this.list.close()
    return { path: this.manifest.path, sha256, files: this.files, entryList: this.list.path }
  }

  /** The download failed: nothing of it stays. */
  discard(): void {
    for (const file of [this.manifest, this.list]) {
      file.abandon()
      rmSync(file.path, { force: true })
    }
  }
}

/** `sha256sum`'s line: a name holding a backslash or a line break is escaped, and the line then
 *  starts with a backslash (GNU coreutils' rule, which `sha256sum -c` reads back). */
export function sha256sumLine(hex: string, name: string): string {
  if (!/[\\\n\r]/.test(name)) return `${hex}  ${name}\n`
  return `\\${hex}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}\n`
}

export function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, '0')
}

/** Reads an entry list line: [path, size, crc32, sha256]. */
export function parseEntryLine(line: string): FileDigest {
  const [path, size, crc32, sha256] = JSON.parse(line) as [string, number, string, string]
  return { path, size, crc32, sha256 }
}
