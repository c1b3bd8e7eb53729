// Extraction: the central directory first (every name, link and limit is checked before anything is
// written), then the file once, front to back, each entry written as it is verified.
import { quoted } from '../../base/untrusted.js'
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { abortReason } from '../../base/clock.js'
import { forEachCentralRecord, readCentralIndex, readFile } from './central.js'
import type { EntryTable } from './entry-table.js'
import { type EntryHeader, type EntrySink, InvalidZipError } from './format.js'
import { NameClash, NameCheck, entryTarget, hostRules, type PathRules } from './path-rules.js'
import { ZipScanner } from './scan.js'

export interface ZipLimits {
  maxEntries: number
  maxTotalBytes: number
}

/** Limits for extraction, against ZIP bombs; documented in the README. */
const EXTRACT_LIMITS: ZipLimits = { maxEntries: 1_000_000, maxTotalBytes: 20 * 1024 ** 3 }

export interface ExtractOptions {
  limits?: ZipLimits
  signal?: AbortSignal
  /** The platform's naming rules (this runner's by default). */
  rules?: PathRules
  /** Refuses, before anything is written, when the entries' uncompressed bytes do not fit. */
  room?: (bytes: number) => Promise<void>
}

/** Extracts into `dir`, refusing entries that would land outside it, names the platform cannot hold,
 *  names the ZIP holds twice, links, and ZIP bombs: all checked in the central directory before
 *  anything is written. Returns the number of entries.
 *
 *  Files are written with synchronous calls, one at a time (open, write, close): fewer hops than
 *  through libuv's thread pool, and measured faster than any concurrency there (BENCHMARKS.md). */
export async function extractZip(file: string, dir: string, o: ExtractOptions = {}): Promise<number> {
  const { limits = EXTRACT_LIMITS, signal, rules = hostRules() } = o
  const root = rules.path.resolve(dir)
  const { central, total } = await checkCentralDirectory(file, root, limits, rules)
  await o.room?.(total)
  mkdirSync(root, { recursive: true, mode: 0o700 })
  const writer = new EntryWriter(root, rules, limits, signal)
  const scanner = new ZipScanner({ central, entry: h => writer.open(h) })
  try {
    await readFile(file, 0, chunk => scanner.write(chunk))
    await scanner.end()
  } finally {
    writer.closeOpenFile()
  }
  return writer.count
}

/** The central directory as an index, once every record passed the limits and the name rules. */
async function checkCentralDirectory(file: string, root: string, limits: ZipLimits, rules: PathRules): Promise<{ central: EntryTable; total: number }> {
  const names = new NameCheck(root, rules)
  let total = 0
  const central = await readCentralIndex(file, (r, i) => {
    if (i + 1 > limits.maxEntries) throw new InvalidZipError(`refusing to extract: more than ${limits.maxEntries} entries`, false)
    total += r.size
    if (total > limits.maxTotalBytes) throw new InvalidZipError(`refusing to extract: more than ${limits.maxTotalBytes} bytes uncompressed`, false)
    if ((r.unixMode & 0o170000) === 0o120000) throw new InvalidZipError(`refusing to extract ${quoted(r.name)}: it is a symbolic link`, false)
    names.add(r.name)
  }).catch(async (e: unknown) => {
    if (e instanceof NameClash) throw e.withOther(await nameAt(file, e.otherIndex))
    throw e
  })
  return { central, total }
}

/** Writes each verified entry's bytes to its file below the root. */
class EntryWriter {
  count = 0
  private written = 0
  /** The file being written, closed if the scan stops inside it. */
  private openFile: number | undefined
  /** The folder made last: a ZIP lists a folder's files together, so this saves most calls, and
   *  making a folder again is one harmless system call. Not a set of every folder made: an export
   *  with a folder per file added a name to it for every entry, names that outlived V8's young
   *  generation and raised the process's peak (BENCHMARKS.md). */
  private lastDirMade: string

  constructor(
    private readonly root: string,
    private readonly rules: PathRules,
    private readonly limits: ZipLimits,
    private readonly signal: AbortSignal | undefined
  ) {
    this.lastDirMade = root
  }

  open(h: EntryHeader): EntrySink | undefined {
    this.stopIfAborted()
    this.count++
    const target = entryTarget(this.root, h.name, this.rules)
    if (h.name.endsWith('/')) {
      this.makeDir(target)
      return undefined
    }
    this.makeDir(this.rules.path.dirname(target))
    // 'wx': the names were checked unique, so an existing file means the folder was not empty; and
    // nothing is ever opened through a link. Owner only, like every file the run writes.
    const fd = openSync(target, 'wx', 0o600)
    this.openFile = fd
    return {
      data: bytes => {
        this.stopIfAborted()
        this.grow(bytes.length)
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at)
      },
      end: () => {
        this.openFile = undefined
        closeSync(fd)
      }
    }
  }

  closeOpenFile(): void {
    if (this.openFile !== undefined) closeSync(this.openFile)
    this.openFile = undefined
  }

  private makeDir(d: string): void {
    if (d === this.lastDirMade) return
    mkdirSync(d, { recursive: true, mode: 0o700 })
    this.lastDirMade = d
  }

  /** The central directory's sizes were checked against the limit; this holds if it lied. */
  private grow(n: number): void {
    this.written += n
    if (this.written > this.limits.maxTotalBytes) throw new InvalidZipError(`refusing to extract: more than ${this.limits.maxTotalBytes} bytes uncompressed`, false)
  }

  private stopIfAborted(): void {
    if (this.signal?.aborted) throw abortReason(this.signal)
  }
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
