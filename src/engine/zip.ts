// Reads a ZIP with yauzl: checks its structure (yauzl refuses bytes after the end record, such as an
// error JSON appended to a streamed download), every entry's CRC-32, and extracts it safely.
// yauzl checks sizes but not CRCs, so each entry is streamed through zlib.crc32 here: one pass,
// constant memory.
import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import * as path from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { crc32 } from 'node:zlib'
import yauzl, { type Entry, type ZipFile } from 'yauzl'
import { abortReason } from '../base/clock.js'

export interface ZipEntryInfo {
  name: string
  size: number
  compressedSize: number
  crc32: number
}

export interface ZipReport {
  entries: ZipEntryInfo[]
  totalSize: number
  /** contents.json parsed, when the ZIP holds one (shape unknown: shown, not interpreted). */
  contentsJson?: unknown
}

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

export interface ZipLimits {
  maxEntries: number
  maxTotalBytes: number
}

/** Limits for extraction, against ZIP bombs; documented in the README. */
const EXTRACT_LIMITS: ZipLimits = { maxEntries: 100_000, maxTotalBytes: 20 * 1024 ** 3 }

const CONTENTS_JSON_LIMIT = 4 * 1024 * 1024

/** Verifies structure and CRCs of every entry; throws InvalidZipError when anything is off. */
export async function inspectZip(file: string): Promise<ZipReport> {
  const entries: ZipEntryInfo[] = []
  let contentsJson: unknown
  let totalSize = 0
  await forEachEntry(file, async (zip, entry) => {
    entries.push({ name: entry.fileName, size: entry.uncompressedSize, compressedSize: entry.compressedSize, crc32: entry.crc32 })
    totalSize += entry.uncompressedSize
    if (isDirectory(entry)) return
    const keep = entry.fileName === 'contents.json' && entry.uncompressedSize <= CONTENTS_JSON_LIMIT
    const chunks: Buffer[] = []
    let crc = 0
    for await (const chunk of await openEntry(zip, entry)) {
      crc = crc32(chunk as Buffer, crc)
      if (keep) chunks.push(chunk as Buffer)
    }
    if (crc >>> 0 !== entry.crc32 >>> 0) {
      throw new InvalidZipError(`entry "${entry.fileName}" is corrupt: CRC-32 ${hex(crc)} where the ZIP says ${hex(entry.crc32)}`)
    }
    if (keep) {
      try {
        contentsJson = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        contentsJson = Buffer.concat(chunks).toString('utf8')
      }
    }
  })
  return { entries, totalSize, contentsJson }
}

export interface ExtractOptions {
  limits?: ZipLimits
  signal?: AbortSignal
  /** The platform's naming rules (this runner's by default). */
  rules?: PathRules
  /** Every entry name (from the check of the ZIP): checked before anything is written. */
  names?: string[]
}

/** Extracts into `dir`, refusing entries that would land outside it, names the platform cannot hold,
 *  links, and ZIP bombs. */
export async function extractZip(file: string, dir: string, o: ExtractOptions = {}): Promise<number> {
  const { limits = EXTRACT_LIMITS, signal, rules = hostRules() } = o
  const root = rules.path.resolve(dir)
  if (o.names) checkEntryNames(root, o.names, rules)
  await mkdir(root, { recursive: true })
  let count = 0
  let written = 0
  await forEachEntry(file, async (zip, entry) => {
    if (signal?.aborted) throw new ExtractAborted()
    if (++count > limits.maxEntries) throw new InvalidZipError(`refusing to extract: more than ${limits.maxEntries} entries`, false)
    const target = safeTarget(root, entry, rules)
    if (isDirectory(entry)) {
      await mkdir(target, { recursive: true })
      return
    }
    await mkdir(path.dirname(target), { recursive: true })
    const stream = await openEntry(zip, entry)
    await pipeline(
      stream,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          written += chunk.length
          if (written > limits.maxTotalBytes) {
            throw new InvalidZipError(`refusing to extract: more than ${limits.maxTotalBytes} bytes uncompressed`, false)
          }
          yield chunk
        }
      },
      createWriteStream(target, { flags: 'wx' }),
      { signal }
    ).catch((e: unknown) => {
      throw signal?.aborted ? new ExtractAborted() : e
    })
  }).catch((e: unknown) => {
    if (e instanceof ExtractAborted) throw abortReason(signal!)
    throw e
  })
  return count
}

/** Marks an extraction stopped by the run's signal, so that it is not taken for a broken ZIP. */
class ExtractAborted extends InvalidZipError {
  constructor() {
    super('extraction stopped', false)
  }
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

/** Checks every entry name before anything is written: each must have a target (entryTarget), and
 *  on a case-insensitive file system no two may differ only in letter case. */
export function checkEntryNames(root: string, names: string[], rules: PathRules): void {
  const seen = new Map<string, string>()
  for (const name of names) {
    const target = entryTarget(root, name, rules)
    if (!rules.caseInsensitive) continue
    const key = target.toLowerCase()
    const other = seen.get(key)
    if (other !== undefined && other !== name && !(other.endsWith('/') && name.endsWith('/'))) {
      throw new InvalidZipError(
        `refusing to extract "${name}": it differs from "${other}" only in letter case, and on this runner's file system one would overwrite the other`,
        false
      )
    }
    seen.set(key, name)
  }
}

function safeTarget(root: string, entry: Entry, rules: PathRules): string {
  const mode = (entry.externalFileAttributes >>> 16) & 0o170000
  if (mode === 0o120000) throw new InvalidZipError(`refusing to extract "${entry.fileName}": it is a symbolic link`, false)
  return entryTarget(root, entry.fileName, rules)
}

function isDirectory(entry: Entry): boolean {
  return entry.fileName.endsWith('/')
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}

function openEntry(zip: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (err, stream) => (err ? reject(asZipError(err)) : resolve(stream)))
  )
}

/** Visits entries one at a time (lazyEntries), closing the file on success and failure. */
function forEachEntry(file: string, visit: (zip: ZipFile, entry: Entry) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false }, (err, zip) => {
      if (err || !zip) return reject(asZipError(err ?? new Error('cannot open')))
      let settled = false
      const finish = (e?: unknown) => {
        if (settled) return
        settled = true
        zip.close()
        if (e) reject(asZipError(e))
        else resolve()
      }
      zip.on('error', finish)
      zip.on('end', () => finish())
      zip.on('entry', (entry: Entry) => {
        visit(zip, entry).then(
          () => zip.readEntry(),
          e => finish(e)
        )
      })
      zip.readEntry()
    })
  })
}

function asZipError(e: unknown): Error {
  if (e instanceof InvalidZipError) return e
  // A system error of the file system (ENOSPC, EACCES …) is about the disk, not the ZIP.
  if (e instanceof Error && /^E[A-Z]+$/.test(String((e as NodeJS.ErrnoException).code))) return e
  const message = e instanceof Error ? e.message : String(e)
  // yauzl refuses entry names that are absolute or climb out ("invalid relative path: ../x").
  const hostile = /invalid relative path|absolute path|invalid characters in fileName/.test(message)
  return new InvalidZipError(hostile ? `refusing the ZIP: ${message}` : `not a valid ZIP: ${message}`, !hostile)
}
