// The check of a download while it arrives: every entry inflated and its CRC-32 compared (scan.ts),
// the central directory compared with what came before it, and a report of what the ZIP holds.
import { quoted } from '../../base/untrusted.js'
import { forEachCentralRecord, readCentralIndex, readFile } from './central.js'
import type { EntryTable } from './entry-table.js'
import { type EntryHeader, type EntrySink, InvalidZipError } from './format.js'
import { ZipScanner } from './scan.js'

export interface ZipEntryInfo {
  name: string
  size: number
  compressedSize: number
  crc32: number
}

export interface FolderTotal {
  /** "name/" for a top-level folder, "(top level)" for files beside them. */
  folder: string
  count: number
  bytes: number
}

export interface ZipReport {
  entryCount: number
  totalSize: number
  /** The first entries, in ZIP order (all of them up to LISTED_ENTRIES). */
  entries: ZipEntryInfo[]
  /** Entries and bytes by top-level folder, by name. */
  folders: FolderTotal[]
  /** contents.json parsed, when the ZIP holds one (shape unknown: shown, not interpreted). */
  contentsJson?: unknown
  /** The entries the check was asked to keep (`keep`), with their bytes; none past KEPT_LIMIT. */
  kept?: KeptEntry[]
}

export interface KeptEntry {
  name: string
  bytes?: Buffer
}

/** What hashes each entry as it streams past (the evidence's manifest writer). */
export interface EntryDigests {
  /** Where an entry's bytes go to be hashed; undefined for one that is not hashed. */
  sink(name: string): EntrySink | undefined
  /** The entry is verified, with its real size and CRC-32. */
  settled(entry: EntryHeader): void
}

export interface CheckOptions {
  /** Hashes every file entry into the manifest as it streams past. */
  manifest?: EntryDigests
  /** Entries whose bytes the run reads afterwards (the job results the gate counts). */
  keep?: (name: string) => boolean
}


const CONTENTS_JSON_LIMIT = 4 * 1024 * 1024
/** A kept entry larger than this is named without its bytes. */
const KEPT_LIMIT = 64 * 1024 * 1024
/** Entries listed one by one in the report; the rest are counted (and rolled up by folder). */
const LISTED_ENTRIES = 1000
const LISTED_FOLDERS = 1000

/** Checks a ZIP as its bytes arrive: write() each chunk, then finish(). */
export class ZipCheck {
  private readonly scanner: ZipScanner
  private readonly report: ZipReport = { entryCount: 0, totalSize: 0, entries: [], folders: [], kept: [] }
  private readonly folders = new Map<string, FolderTotal>()
  private contents?: Buffer[]

  constructor(private readonly o: CheckOptions = {}) {
    this.scanner = new ZipScanner({ entry: h => this.entry(h), settled: h => this.settled(h) })
  }

  /** The ZIP's end record has arrived: any further byte is not part of it. */
  get complete(): boolean {
    return this.scanner.complete
  }

  /** The stream reached a part only the central directory can settle: finish() reads it from disk. */
  get unsettled(): boolean {
    return this.scanner.unsettledFrom !== undefined
  }

  write(chunk: Buffer): Promise<void> {
    return this.scanner.write(chunk)
  }

  /** After the last byte: settles from `file` what the stream could not, and gives the report. */
  async finish(file: string): Promise<ZipReport> {
    let scanner = this.scanner
    await scanner.end()
    if (scanner.unsettledFrom !== undefined) {
      // A stored entry with a data descriptor: the rest is read from disk with the central
      // directory's sizes, and compared with it as before.
      const central = await readCentralIndex(file)
      const resume = { table: scanner.table, offset: scanner.unsettledFrom }
      scanner = new ZipScanner({ central, resume, settled: h => this.settled(h), entry: h => this.entry(h) })
      await readFile(file, scanner.position, chunk => scanner.write(chunk))
      await scanner.end()
    }
    if (scanner.trailing > 0) throw new InvalidZipError(`not a valid ZIP: ${scanner.trailing} bytes follow its end record`)
    await refuseRepeatedName(file, scanner.table)
    // By code point: localeCompare would load ICU's collation data (resident memory, BENCHMARKS.md).
    this.report.folders = [...this.folders.values()].sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0))
    return this.report
  }

  /** Where an entry's bytes go: the manifest's hash, and a copy where the run reads them later. */
  private entry(h: EntryHeader): EntrySink | undefined {
    const digest = this.o.manifest?.sink(h.name)
    const contents = h.name === 'contents.json'
    const keep = this.o.keep?.(h.name) ?? false
    // Most entries are only hashed: no list of sinks is made for them.
    if (!contents && !keep) return digest
    const sinks: EntrySink[] = digest ? [digest] : []
    if (contents) sinks.push(copyOf(CONTENTS_JSON_LIMIT, chunks => (this.contents = chunks)))
    if (keep) {
      const kept: KeptEntry = { name: h.name }
      this.report.kept!.push(kept)
      sinks.push(copyOf(KEPT_LIMIT, chunks => (kept.bytes = Buffer.concat(chunks))))
    }
    if (sinks.length < 2) return sinks[0]
    return {
      data: bytes => sinks.forEach(s => s.data(bytes)),
      whole: bytes => sinks.forEach(s => (s.whole ? s.whole(bytes) : s.data(bytes))),
      end: () => {
        const pending = sinks.map(s => s.end()).filter(p => p !== undefined)
        return pending.length ? Promise.all(pending).then(() => undefined) : undefined
      }
    }
  }

  private settled(h: EntryHeader): void {
    this.o.manifest?.settled(h)
    const r = this.report
    r.entryCount++
    r.totalSize += h.size
    if (r.entries.length < LISTED_ENTRIES) r.entries.push({ name: h.name, size: h.size, compressedSize: h.compressedSize, crc32: h.crc32 })
    const slash = h.name.indexOf('/')
    let key = slash > 0 ? h.name.slice(0, slash + 1) : '(top level)'
    if (!this.folders.has(key) && this.folders.size >= LISTED_FOLDERS) key = '(other folders)'
    const f = this.folders.get(key) ?? this.folders.set(key, { folder: key, count: 0, bytes: 0 }).get(key)!
    f.count++
    f.bytes += h.size
    if (this.contents && h.name === 'contents.json') {
      const text = Buffer.concat(this.contents).toString('utf8')
      try {
        r.contentsJson = JSON.parse(text)
      } catch {
        r.contentsJson = text
      }
      this.contents = undefined
    }
  }
}

/** A name twice is refused, extracted or not: the manifest cannot describe it (two lines, two
 *  digests, one file after unzip). Found by the names' 52-bit keys; the name is read back from the
 *  central directory only to say it. */
async function refuseRepeatedName(file: string, table: EntryTable): Promise<void> {
  const i = table.repeatedName()
  if (i < 0) return
  let name = `the entry at offset ${table.offsets[i]}`
  await forEachCentralRecord(file, r => {
    if (r.offset === table.offsets[i]) name = quoted(r.name)
  })
  throw new InvalidZipError(`refusing the ZIP: it holds ${name} twice, and one name can be one file only (its manifest could not describe it)`, false)
}

/** A sink that copies an entry's bytes, and hands them on at its end unless they exceed `limit`. */
function copyOf(limit: number, done: (chunks: Buffer[]) => void): EntrySink {
  const chunks: Buffer[] = []
  let size = 0
  return {
    data: bytes => {
      size += bytes.length
      if (size <= limit) chunks.push(Buffer.from(bytes))
    },
    end: () => {
      if (size <= limit) done(chunks)
    }
  }
}
