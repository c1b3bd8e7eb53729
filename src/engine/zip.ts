// The ZIP check and the extraction, both one front-to-back pass of zip-scan.ts: the check runs while
// the download arrives (ZipCheck) or over a file (inspectZip); the extraction reads the central
// directory first (every name, link and limit is checked before anything is written), then the file
// once, in order, writing each entry as it is verified.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import * as path from 'node:path'
import { crc32 } from 'node:zlib'
import { abortReason } from '../base/clock.js'
import { type Collect, runtimeGc } from '../base/gc.js'
import { CENTRAL_SIG, EntryTable, findCentralDirectory, InvalidZipError, parseCentralRecord, ZipScanner, type CentralRecord, type EntryHeader, type EntrySink } from './zip-scan.js'

export { InvalidZipError } from './zip-scan.js'

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
}

export interface ZipLimits {
  maxEntries: number
  maxTotalBytes: number
}

/** Limits for extraction, against ZIP bombs; documented in the README. */
const EXTRACT_LIMITS: ZipLimits = { maxEntries: 1_000_000, maxTotalBytes: 20 * 1024 ** 3 }

const CONTENTS_JSON_LIMIT = 4 * 1024 * 1024
/** Entries listed one by one in the report; the rest are counted (and rolled up by folder). */
const LISTED_ENTRIES = 1000
const LISTED_FOLDERS = 1000
/** Reads of a ZIP from disk, into one reused buffer (small: a read that ends inside an entry is copied). */
const READ_BYTES = 64 * 1024

/** Checks a ZIP as its bytes arrive: write() each chunk, then finish(). */
export class ZipCheck {
  private readonly scanner: ZipScanner
  private readonly report: ZipReport = { entryCount: 0, totalSize: 0, entries: [], folders: [] }
  private readonly folders = new Map<string, FolderTotal>()
  private contents?: Buffer[]

  constructor(private readonly collect: Collect = runtimeGc()) {
    this.scanner = new ZipScanner({ entry: h => this.entry(h), settled: h => this.settled(h), collect })
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
      scanner = new ZipScanner({ central, resume, settled: h => this.settled(h), entry: h => this.entry(h), collect: this.collect })
      await readFile(file, scanner.position, chunk => scanner.write(chunk))
      await scanner.end()
    }
    if (scanner.trailing > 0) throw new InvalidZipError(`not a valid ZIP: ${scanner.trailing} bytes follow its end record`)
    // By code point: localeCompare would load ICU's collation data, ~8 MB of resident memory.
    this.report.folders = [...this.folders.values()].sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0))
    return this.report
  }

  private entry(h: EntryHeader): EntrySink | undefined {
    if (h.name !== 'contents.json') return undefined
    const chunks: Buffer[] = []
    let size = 0
    return {
      data: bytes => {
        size += bytes.length
        if (size <= CONTENTS_JSON_LIMIT) chunks.push(Buffer.from(bytes))
      },
      end: () => {
        if (size <= CONTENTS_JSON_LIMIT) this.contents = chunks
      }
    }
  }

  private settled(h: EntryHeader): void {
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

/** Verifies structure and CRCs of every entry of a ZIP on disk; throws InvalidZipError when
 *  anything is off. */
export async function inspectZip(file: string): Promise<ZipReport> {
  const check = new ZipCheck()
  await readFile(file, 0, chunk => check.write(chunk))
  return check.finish(file)
}

/** Feeds a file from `start` to its end into `visit`, in reads of one reused buffer. */
async function readFile(file: string, start: number, visit: (chunk: Buffer) => Promise<void> | void, end = Infinity): Promise<void> {
  const handle = await open(file, 'r')
  try {
    const buffer = Buffer.allocUnsafe(READ_BYTES)
    for (let at = start; at < end; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(READ_BYTES, end - at), at)
      if (bytesRead === 0) break
      at += bytesRead
      await visit(buffer.subarray(0, bytesRead))
    }
  } finally {
    await handle.close()
  }
}

/** Calls `visit` for each record of the ZIP's central directory, in its order; `count` first with
 *  the number of records its end record announces. */
async function forEachCentralRecord(file: string, visit: (record: CentralRecord, nameHash: number) => void, count?: (n: number) => void): Promise<number> {
  // Each record leaves a little garbage: a minor GC per read keeps a large directory's pass flat.
  const collect = runtimeGc()
  const handle = await open(file, 'r')
  let where: { offset: number; size: number; count: number }
  try {
    const { size } = await handle.stat()
    const length = Math.min(size, 22 + 0xffff + 20 + 56)
    const tail = Buffer.alloc(length)
    await handle.read(tail, 0, length, size - length)
    where = findCentralDirectory(tail, size)
  } finally {
    await handle.close()
  }
  count?.(where.count)
  let pending = Buffer.alloc(0)
  let seen = 0
  await readFile(
    file,
    where.offset,
    chunk => {
      const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk
      let at = 0
      for (let parsed; (parsed = parseCentralRecord(buf, at)); at = parsed.end) {
        if (buf.readUInt32LE(at) !== CENTRAL_SIG) throw new InvalidZipError('not a valid ZIP: its central directory is damaged')
        visit(parsed.record, parsed.nameHash)
        seen++
      }
      pending = Buffer.from(buf.subarray(at))
      collect()
    },
    where.offset + where.size
  )
  if (seen !== where.count) throw new InvalidZipError(`not a valid ZIP: its end record counts ${where.count} entries, its central directory lists ${seen}`)
  return seen
}

/** The central directory as an index by local-header offset (typed arrays, 33 bytes an entry). */
async function readCentralIndex(file: string, visit?: (record: CentralRecord, index: number) => void): Promise<EntryTable> {
  let index = new EntryTable()
  await forEachCentralRecord(
    file,
    (r, nameHash) => {
      visit?.(r, index.count)
      index.add(r.offset, r.compressedSize, r.size, r.crc32, nameHash)
    },
    // At most a million slots up front: a lying end record cannot reserve more.
    n => (index = new EntryTable(Math.min(n, 1_000_000)))
  )
  index.sortByOffset()
  return index
}

export interface ExtractOptions {
  limits?: ZipLimits
  signal?: AbortSignal
  /** The platform's naming rules (this runner's by default). */
  rules?: PathRules
}


const FULL_GC_EVERY_ENTRIES = 5000

/** Extracts into `dir`, refusing entries that would land outside it, names the platform cannot hold,
 *  links, and ZIP bombs: all checked in the central directory before anything is written. Then the
 *  ZIP is read once, front to back, and each entry is written as it is verified.
 *
 *  Files are written with synchronous calls, one at a time: open, write, close. Measured on 70,000
 *  files, that beat every level of concurrency through libuv's thread pool (1, 4, 16 and 64 files
 *  in flight: each hop costs futex calls that outnumber the file's own) and came within 1.2× of
 *  unzip, which makes more calls per file (stat, utimes, chmod). */
export async function extractZip(file: string, dir: string, o: ExtractOptions = {}): Promise<number> {
  const { limits = EXTRACT_LIMITS, signal, rules = hostRules() } = o
  const root = rules.path.resolve(dir)
  const names = new NameCheck(root, rules)
  let total = 0
  const central = await readCentralIndex(file, (r, i) => {
    if (i + 1 > limits.maxEntries) throw new InvalidZipError(`refusing to extract: more than ${limits.maxEntries} entries`, false)
    total += r.size
    if (total > limits.maxTotalBytes) throw new InvalidZipError(`refusing to extract: more than ${limits.maxTotalBytes} bytes uncompressed`, false)
    if ((r.unixMode & 0o170000) === 0o120000) throw new InvalidZipError(`refusing to extract "${r.name}": it is a symbolic link`, false)
    names.add(r.name)
  }).catch(async (e: unknown) => {
    if (e instanceof CaseTwin) throw e.withOther(await nameAt(file, e.otherIndex))
    throw e
  })
  mkdirSync(root, { recursive: true })
  // Folders made lately (a ZIP lists a folder's entries together): a bounded set, since a project
  // tree can have tens of thousands; making one again is one harmless system call.
  const made = new Set<string>([root])
  const makeDir = (d: string) => {
    if (made.has(d)) return
    mkdirSync(d, { recursive: true })
    if (made.size >= 1000) made.clear()
    made.add(d)
  }
  let written = 0
  let count = 0
  const grow = (n: number) => {
    written += n
    // The central directory's sizes were checked against the limit; this holds if it lied.
    if (written > limits.maxTotalBytes) throw new InvalidZipError(`refusing to extract: more than ${limits.maxTotalBytes} bytes uncompressed`, false)
  }
  const collect = runtimeGc()
  const sink = (h: EntryHeader): EntrySink | undefined => {
    if (signal?.aborted) throw abortReason(signal)
    // What minor GCs promote (each file's few objects) piles up in the old generation while
    // thousands of files are written: a full GC now and then (~10 ms) keeps the peak flat.
    if (++count % FULL_GC_EVERY_ENTRIES === 0) collect(true)
    const target = entryTarget(root, h.name, rules)
    if (h.name.endsWith('/')) {
      makeDir(target)
      return undefined
    }
    makeDir(rules.path.dirname(target))
    const fd = openSync(target, 'wx')
    openFile = fd
    return {
      data: bytes => {
        if (signal?.aborted) throw abortReason(signal)
        grow(bytes.length)
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at)
      },
      end: () => {
        openFile = undefined
        closeSync(fd)
      }
    }
  }
  /** The file being written, closed if the scan stops inside it. */
  let openFile: number | undefined
  const scanner = new ZipScanner({ central, entry: sink, collect })
  try {
    await readFile(file, 0, chunk => scanner.write(chunk))
    await scanner.end()
  } finally {
    if (openFile !== undefined) closeSync(openFile)
  }
  return count
}

/** The name of the index-th record of the central directory. */
async function nameAt(file: string, index: number): Promise<string> {
  let name = ''
  let i = 0
  await forEachCentralRecord(file, r => {
    if (i++ === index) name = r.name
  })
  return name
}

/** How the runner's platform names files: its path module, whether Windows' naming rules apply, and
 *  whether two names that differ only in letter case are the same file (Windows, and macOS's
 *  default file system). */
export interface PathRules {
  path: typeof path.posix
  windowsNames: boolean
  caseInsensitive: boolean
}

export function hostRules(platform: NodeJS.Platform = process.platform): PathRules {
  return { path: platform === 'win32' ? path.win32 : path.posix, windowsNames: platform === 'win32', caseInsensitive: platform === 'win32' || platform === 'darwin' }
}

/** Why Windows cannot hold a file or folder of this name, or undefined when it can. */
export function windowsNameProblem(segment: string): string | undefined {
  if (/^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i.test(segment)) return `"${segment.split('.')[0]}" is a device name on Windows`
  if (/[. ]$/.test(segment)) return 'Windows drops a dot or space at the end of a name'
  if (/[<>:"|?*]/.test(segment) || [...segment].some(c => c.charCodeAt(0) < 32)) {
    return 'it holds a character Windows does not allow in names (< > : " | ? * or a control character)'
  }
}

/** Where an entry lands below `root`, or an InvalidZipError when it cannot be written there as it
 *  is: a path that leaves the folder (also through a drive letter or a backslash), a name the
 *  platform cannot hold. */
export function entryTarget(root: string, name: string, rules: PathRules): string {
  const segments = name.split(/[\\/]/).filter(s => s !== '')
  if (/^([a-zA-Z]:|[\\/])/.test(name) || segments.includes('..')) {
    throw new InvalidZipError(`refusing to extract "${name}": its path leaves the target folder`, false)
  }
  if (rules.windowsNames) {
    for (const segment of segments) {
      const problem = windowsNameProblem(segment)
      if (problem) throw new InvalidZipError(`refusing to extract "${name}": it cannot be written on Windows as it is (${problem})`, false)
    }
  }
  const target = rules.path.resolve(root, ...segments)
  if (target !== root && !target.startsWith(root + rules.path.sep)) {
    throw new InvalidZipError(`refusing to extract "${name}": its path leaves the target folder`, false)
  }
  return target
}

/** Two entries that would be one file on a case-insensitive file system. */
class CaseTwin extends InvalidZipError {
  constructor(
    readonly entryName: string,
    readonly otherIndex: number
  ) {
    super(`refusing to extract "${entryName}": it differs from another entry only in letter case`, false)
  }

  withOther(other: string): InvalidZipError {
    if (other === this.entryName) return new InvalidZipError(`refusing to extract "${other}": the ZIP holds it twice`, false)
    return new InvalidZipError(
      `refusing to extract "${this.entryName}": it differs from "${other}" only in letter case, and on this runner's file system one would overwrite the other`,
      false
    )
  }
}

/** Checks entry names one at a time (entryTarget), and on a case-insensitive file system that no two
 *  differ only in letter case. Keeps a 52-bit hash of each lower-cased path, not the names: memory
 *  stays small for hundreds of thousands of entries. */
class NameCheck {
  private readonly seen = new Map<number, number>()
  private index = 0

  constructor(
    private readonly root: string,
    private readonly rules: PathRules
  ) {}

  add(name: string): void {
    const target = entryTarget(this.root, name, this.rules)
    const i = this.index++
    if (!this.rules.caseInsensitive) return
    const key = Buffer.from(target.toLowerCase())
    const hash = crc32(key) * 0x100000 + (crc32(key, 0x9e3779b9) & 0xfffff)
    // The value: the index, negative for a folder (two spellings of one folder are harmless).
    const other = this.seen.get(hash)
    const folder = name.endsWith('/')
    if (other !== undefined && !(other < 0 && folder)) throw new CaseTwin(name, other < 0 ? -other - 1 : other)
    this.seen.set(hash, folder ? -i - 1 : i)
  }
}

/** Checks every entry name before anything is written: each must have a target (entryTarget), and
 *  on a case-insensitive file system no two may differ only in letter case. */
export function checkEntryNames(root: string, names: string[], rules: PathRules): void {
  const check = new NameCheck(root, rules)
  try {
    for (const name of names) check.add(name)
  } catch (e) {
    throw e instanceof CaseTwin ? e.withOther(names[e.otherIndex]) : e
  }
}
