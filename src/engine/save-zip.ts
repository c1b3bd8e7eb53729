// Saving the export: one pass over the body that hashes it, feeds the ZIP check (zip/check.ts) and
// writes it to disk with the stream's own back-pressure. The file is created exclusively (never
// through a link), readable by its owner only, at a temporary name the caller chose: the run's
// output set puts it in place with its evidence once all are complete (output-set.ts).
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { appendFile, mkdir, open, rm } from 'node:fs/promises'
import * as path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { abortReason, type Clock } from '../base/clock.js'
import { formatBytes, formatRate } from '../base/format.js'
import type { Logger } from '../base/logger.js'
import { type GatewayBody, STREAM_ERROR_TAIL, streamErrorAtEnd } from '../octoplant/download-body.js'
import { diskFilledWhileSaving, ensureRoom, type SpaceNeed } from './disk-space.js'
import { type Manifest, ManifestWriter } from './evidence/manifest.js'
import { ZipCheck, type ZipReport } from './zip/check.js'
import { findCentralDirectory, InvalidZipError } from './zip/format.js'

export interface SavedZip {
  path: string
  size: number
  sha256: string
  report: ZipReport
  /** Time spent receiving and writing, and checking the ZIP afterwards. */
  streamMs: number
  verifyMs: number
  /** Stream delimiter bytes after the ZIP's end record, dropped. */
  droppedTrailer: number
  /** Every file entry's SHA-256, made in the same pass (with `manifest` in the options). */
  manifest?: Manifest
}

export interface SaveOptions {
  /** The engine's clock: times the download and paces its progress lines. */
  clock: Clock
  signal?: AbortSignal
  logger?: Logger
  /** The ZIP will be extracted beside itself: it needs twice its size. */
  extract?: boolean
  /** Bytes received so far, after every chunk (a live status line). */
  onBytes?: (received: number, total: number | undefined) => void
  /** Where the manifest goes (made while the ZIP is checked). */
  manifest?: string
  /** Entries whose bytes the run reads afterwards (ZipReport.kept). */
  keep?: (name: string) => boolean
}

/** Bytes the file stream takes before it asks the reader to wait ('drain'): enough that the disk's
 *  writes overlap the reading instead of taking turns with it. With a small buffer the reader waits
 *  for a write at every few pieces, and a link that does not wait for us gets ahead (BENCHMARKS.md). */
const WRITE_BUFFER = 4 * 1024 * 1024
/** Bytes read on after the check found the ZIP broken: room for a stream error to arrive. */
const READ_ON_AFTER_ERROR = 64 * 1024
/** A progress line at most this often: only long downloads show one. */
const PROGRESS_EVERY_MS = 10_000

/** Saves the download at `partial` (created exclusively; removed again when anything fails). */
export async function saveZip(download: GatewayBody, partial: string, o: SaveOptions): Promise<SavedZip> {
  const { contentLength } = download
  const need: SpaceNeed = { dir: path.dirname(partial), extract: !!o.extract }
  await mkdir(need.dir, { recursive: true, mode: 0o700 })
  await ensureRoom(need, contentLength).catch((e: unknown) => {
    download.body.destroy()
    throw e
  })
  const manifest = o.manifest ? new ManifestWriter(o.manifest) : undefined
  const pass = new CheckedPass(new ZipCheck({ manifest, keep: o.keep }), o.clock, o.logger, contentLength, o.onBytes)
  o.logger?.info(`Downloading the export (${contentLength === undefined ? 'size not announced: the server streams it' : formatBytes(contentLength)}).`)
  const out = createWriteStream(partial, { highWaterMark: WRITE_BUFFER, flags: 'wx', mode: 0o600 })
  try {
    await pipeline(download.body, source => pass.through(source), out, { signal: o.signal })
    const droppedTrailer = await pass.settleTrailer(download.trailer(), partial)
    if (contentLength !== undefined && pass.size + droppedTrailer !== contentLength && !pass.broken) {
      throw new InvalidZipError(`the download ended after ${pass.size + droppedTrailer} of ${contentLength} bytes`)
    }
    const streamed = o.clock.now()
    const report = await pass.finish(partial)
    const sha256 = pass.hash.digest('hex')
    return { path: partial, size: pass.size, sha256, report, streamMs: streamed - pass.started, verifyMs: o.clock.now() - streamed, droppedTrailer, manifest: manifest?.finish() }
  } catch (e) {
    manifest?.discard()
    // What was free is read while the partial file still holds its place.
    const failure = (e as NodeJS.ErrnoException).code === 'ENOSPC' ? await diskFilledWhileSaving(need, pass.size, contentLength) : e
    // A stream that failed early may still be opening its file: removed only once it is closed.
    if (!out.closed) await new Promise<void>(resolve => out.once('close', () => resolve()))
    await rm(partial, { force: true })
    if (o.signal?.aborted) throw abortReason(o.signal)
    throw failure
  }
}

/** The one pass: what it hashed and checked so far. */
class CheckedPass {
  readonly hash = createHash('sha256')
  readonly started: number
  size = 0
  /** The first thing the check found wrong; the stream is read on a little, in case a stream error
   *  follows (it is named from the file's end), then given up. */
  broken?: { error: unknown; at: number }
  private lastProgress: number

  constructor(
    readonly check: ZipCheck,
    private readonly clock: Clock,
    private readonly logger: Logger | undefined,
    private readonly contentLength: number | undefined,
    private readonly onBytes?: SaveOptions['onBytes']
  ) {
    this.started = this.lastProgress = clock.now()
  }

  /** Hashes and checks each chunk, then hands it on to be written. */
  async *through(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      await this.take(chunk)
      yield chunk
      if (this.broken && this.size - this.broken.at > READ_ON_AFTER_ERROR) return
    }
  }

  private async take(bytes: Buffer): Promise<void> {
    this.hash.update(bytes)
    this.size += bytes.length
    if (!this.broken) await this.check.write(bytes).catch((error: unknown) => void (this.broken = { error, at: this.size }))
    this.onBytes?.(this.size, this.contentLength)
    const now = this.clock.now()
    if (now - this.lastProgress < PROGRESS_EVERY_MS) return
    this.lastProgress = now
    const of = this.contentLength ? ` of ${formatBytes(this.contentLength)} (${Math.floor((100 * this.size) / this.contentLength)} %)` : ''
    this.logger?.info(`Downloading: ${formatBytes(this.size)}${of} received, ${formatRate(this.size, now - this.started)}.`)
  }

  /** The delimiter bytes the gateway left at the end: dropped when the ZIP ends before them, else
   *  part of the file (a comment that ends in a line break, or not a ZIP: the check decides).
   *  Returns how many were dropped. */
  async settleTrailer(held: Buffer, partial: string): Promise<number> {
    if (!held.length) return 0
    // The check knows where the ZIP ends; when it could not follow it to the end (an entry only the
    // central directory can settle), the end record on disk tells.
    if (!this.broken && (this.check.complete || (await endsAtEndRecord(partial, this.size)))) {
      this.logger?.debug(`dropped ${held.length} byte(s) after the ZIP's end record: the stream delimiter ${JSON.stringify(held.toString('latin1'))}`)
      return held.length
    }
    await appendFile(partial, held)
    await this.take(held)
    return 0
  }

  /** The check's verdict; a stream error at the file's end is named as such. */
  async finish(partial: string): Promise<ZipReport> {
    try {
      if (this.broken) throw this.broken.error
      return await this.check.finish(partial)
    } catch (e) {
      const tail = await readTail(partial, this.size, STREAM_ERROR_TAIL)
      const streamError = streamErrorAtEnd(tail, this.size - tail.length)
      throw streamError ? new InvalidZipError(streamError) : e
    }
  }
}

/** The ZIP's end record (22 bytes and its comment) ends exactly at `size`. */
async function endsAtEndRecord(file: string, size: number): Promise<boolean> {
  try {
    findCentralDirectory(await readTail(file, size, 22 + 0xffff + 20 + 56), size)
    return true
  } catch {
    return false
  }
}

async function readTail(file: string, size: number, most: number): Promise<Buffer> {
  const length = Math.min(size, most)
  const handle = await open(file, 'r')
  try {
    const buffer = Buffer.alloc(length)
    await handle.read(buffer, 0, length, size - length)
    return buffer
  } finally {
    await handle.close()
  }
}
