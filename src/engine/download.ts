// Streams the export to disk, hashing it and verifying the ZIP on the way (one pass: see
// zip-scan.ts); the file takes its final name once the check is complete, so the file at the
// returned path is only ever a complete, verified ZIP.
//
// grpc-gateway frames the download as a stream of HttpBody messages, each followed by the
// marshaler's delimiter ("\n" by default), and writes an error after the 200 header as
// {"error": {…}} + delimiter. So the bytes after the ZIP's end record may be a delimiter: they are
// held back while they arrive, and dropped when the ZIP ends exactly before them; anything else
// after the end record is kept and the ZIP check refuses it (naming a stream error when it is one).
import { createHash } from 'node:crypto'
import { closeSync, openSync, write as fsWrite } from 'node:fs'
import { appendFile, mkdir, open, rename, rm, statfs, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import type { Readable } from 'node:stream'
import { formatBytes, formatRate } from '../base/format.js'
import { InputError } from './settings.js'
import type { Logger } from '../base/logger.js'
import { grpcCodeName } from '../../protocol/protocol.js'
import { isTransientError, OctoplantError, rpcStatusOf } from '../octoplant/request.js'
import { abortReason, type Clock, systemClock } from '../base/clock.js'
import { type Collect, runtimeGc } from '../base/gc.js'
import { findCentralDirectory } from './zip-scan.js'
import { InvalidZipError, ZipCheck, type ZipReport } from './zip.js'

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
}

/** Most delimiter bytes held back at a time ("\r\n" after each of a few empty messages). */
const MAX_HELD = 64
const isDelimiterByte = (b: number) => b === 0x0a || b === 0x0d

/** Creates the folder the export goes to and proves it writable, before anything is ordered. */
export async function prepareFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
    const probe = path.join(dir, `.octoplant-write-test-${process.pid}`)
    await writeFile(probe, '')
    await rm(probe, { force: true })
  } catch (e) {
    throw new InputError('path', `must be a folder the runner can write to; ${dir} is not (${(e as Error).message}). Choose a folder the runner's user may write to`)
  }
}

/** Bytes written to the file at a time (two such buffers: one filling, one being written). */
const WRITE_BATCH = 1024 * 1024
/** A minor GC after this many bytes (see base/gc.ts); twice as many when each chunk's memory is given
 *  back at once (releaseChunks), since only the TLS layer's buffers are then left for the GC. */
const COLLECT_EVERY = 1024 * 1024
/** A full GC after this many bytes: what the minor ones promote would otherwise pile up in the old
 *  generation (measured on 2 GiB: 101 MiB peak without, 94–95 with, at the same speed). */
const FULL_COLLECT_EVERY = 256 * 1024 * 1024
/** Bytes read on after the check found the ZIP broken: room for a stream error to arrive. */
const READ_ON_AFTER_ERROR = 64 * 1024

/** Every try of the download failed (cut, corrupt, or a stream error each time). */
export class DownloadFailedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DownloadFailedError'
  }
}

/** The file system has no room for the export (checked up front, or found full while writing). */
export class DiskSpaceError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DiskSpaceError'
  }
}

export interface SaveOptions {
  signal?: AbortSignal
  logger?: Logger
  /** The ZIP will be extracted beside itself: it needs twice its size. */
  extract?: boolean
  /** How the front end names a setting in a message (default: "the path input"). */
  setting?: (name: string) => string
  /** A minor GC, called every few MiB (default: the runtime's, when it can be had). */
  gc?: Collect
  /** The body's chunks are fresh buffers that nothing else holds (an HTTP response's): each one's
   *  memory is given back as soon as it is hashed, written and checked, rather than left for a GC. */
  releaseChunks?: boolean
}

/** A progress line at most this often: only long downloads show one. */
const PROGRESS_EVERY_MS = 10_000

/** Free bytes of the file system that holds `dir`. */
async function freeSpace(dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

export async function saveZip(body: Readable, file: string, contentLength: number | undefined, o: SaveOptions = {}): Promise<SavedZip> {
  const { signal, logger } = o
  const dir = path.dirname(file)
  await mkdir(dir, { recursive: true })
  const pathSetting = o.setting?.('path') ?? 'the path input'
  const factor = o.extract ? 2 : 1
  const withExtract = o.extract ? ' (the ZIP twice, since extract is true)' : ''
  if (contentLength !== undefined) {
    const available = await freeSpace(dir)
    if (available < contentLength * factor) {
      body.destroy()
      throw new DiskSpaceError(
        `not enough free disk space in ${dir}: the export needs ${formatBytes(contentLength * factor)}${withExtract} and ${formatBytes(available)} are free. Free space there, or set ${pathSetting} to a folder on a larger disk`
      )
    }
  }
  const partial = `${file}.partial`
  const hash = createHash('sha256')
  const collect = o.gc ?? runtimeGc()
  const check = new ZipCheck(collect)
  const out = new BatchedFile(partial)
  let size = 0
  const collectEvery = o.releaseChunks && canRelease ? 2 * COLLECT_EVERY : COLLECT_EVERY
  /** Sizes received at which the next minor and full GC are due. */
  let nextCollect = collectEvery
  let nextFullCollect = FULL_COLLECT_EVERY
  /** The first thing the check found wrong; the stream is read on a little, in case a stream error
   *  follows (it is named from the file's end), then given up. */
  let broken: { error: unknown; at: number } | undefined
  /** Delimiter-like bytes at the end of what arrived so far, not yet passed on. */
  let held = Buffer.alloc(0)
  logger?.info(`Downloading the export (${contentLength === undefined ? 'size not announced: the server streams it' : formatBytes(contentLength)}).`)
  const started = performance.now()
  let lastProgress = started
  const pass = async (bytes: Buffer) => {
    hash.update(bytes)
    await out.write(bytes)
    size += bytes.length
    if (!broken) await check.write(bytes).catch((error: unknown) => void (broken = { error, at: size }))
    if (size >= nextCollect) {
      nextCollect = size + collectEvery
      const full = size >= nextFullCollect
      if (full) nextFullCollect = size + FULL_COLLECT_EVERY
      collect(full)
    }
    const now = performance.now()
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now
      const of = contentLength ? ` of ${formatBytes(contentLength)} (${Math.floor((100 * size) / contentLength)} %)` : ''
      logger?.info(`Downloading: ${formatBytes(size)}${of} received, ${formatRate(size, now - started)}.`)
    }
  }
  const onAbort = () => body.destroy(abortReason(signal!))
  try {
    if (signal?.aborted) throw abortReason(signal)
    signal?.addEventListener('abort', onAbort, { once: true })
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let cut = chunk.length
      while (cut > 0 && isDelimiterByte(chunk[cut - 1])) cut--
      if (cut === 0 && held.length + chunk.length <= MAX_HELD) {
        held = Buffer.concat([held, chunk])
        continue
      }
      if (held.length) await pass(held)
      held = Buffer.alloc(0)
      if (cut === 0) {
        await pass(chunk)
      } else {
        await pass(chunk.subarray(0, cut))
        if (cut < chunk.length) held = Buffer.from(chunk.subarray(cut))
      }
      if (o.releaseChunks) release(chunk)
      if (broken && size - broken.at > READ_ON_AFTER_ERROR) {
        body.destroy()
        break
      }
    }
    if (signal?.aborted) throw abortReason(signal)
    await out.close()
    let droppedTrailer = 0
    if (held.length) {
      // The check knows where the ZIP ends; when it could not follow it to the end (an entry only
      // the central directory can settle), the end record on disk tells.
      if (!broken && (check.complete || (await endsAtEndRecord(partial, size)))) {
        droppedTrailer = held.length
        logger?.debug(`dropped ${held.length} byte(s) after the ZIP's end record: the stream delimiter ${JSON.stringify(held.toString('latin1'))}`)
      } else {
        // Part of the ZIP (a comment that ends in a line break) or not a ZIP: the check decides.
        await appendFile(partial, held)
        hash.update(held)
        size += held.length
        if (!broken) await check.write(held).catch((error: unknown) => void (broken = { error, at: size }))
      }
    }
    if (contentLength !== undefined && size + droppedTrailer !== contentLength && !broken) {
      throw new InvalidZipError(`the download ended after ${size + droppedTrailer} of ${contentLength} bytes`)
    }
    const streamed = performance.now()
    const report = await (async () => {
      if (broken) throw broken.error
      return check.finish(partial)
    })().catch(async (e: unknown) => {
      throw (await streamErrorAtEnd(partial, size)) ?? e
    })
    await rename(partial, file)
    const verifyMs = performance.now() - streamed
    return { path: file, size, sha256: hash.digest('hex'), report, streamMs: streamed - started, verifyMs, droppedTrailer }
  } catch (e) {
    await out.discard()
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') {
      const left = await freeSpace(dir).catch(() => 0)
      await rm(partial, { force: true })
      const total = contentLength === undefined ? '' : ` of ${formatBytes(contentLength)}`
      throw new DiskSpaceError(
        `the disk filled up while saving the export in ${dir}: ${formatBytes(size)}${total} had arrived, the ZIP needs more${withExtract}, and ${formatBytes(left)} were free. ` +
          `The partial file was removed. Free space there, or set ${pathSetting} to a folder on a larger disk`
      )
    }
    await rm(partial, { force: true })
    throw e
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

type Transferable = ArrayBuffer & { transfer?(length: number): ArrayBuffer }
const canRelease = typeof (ArrayBuffer.prototype as Transferable).transfer === 'function'

/** Frees a chunk's memory now, when the chunk is the whole of its ArrayBuffer (a pooled slice never
 *  is): transfer(0) detaches the buffer, which drops its backing store without waiting for a GC. A
 *  buffer that cannot be detached (Node's pool is not) is left to the GC. */
function release(chunk: Buffer): void {
  const buffer = chunk.buffer as Transferable
  if (!canRelease || chunk.byteOffset !== 0 || buffer.byteLength !== chunk.length) return
  try {
    buffer.transfer!(0)
  } catch {
    /* not detachable (or shared): the GC frees it */
  }
}

/** A file written in 1 MiB positioned writes that run on libuv's thread pool while the next block
 *  fills (double buffering), so that the system calls do not hold up the thread that receives,
 *  hashes and checks. Two reused buffers: no write buffer is left for the GC, and memory does not
 *  grow when the disk is slower than the link (a full block then waits for the previous write). */
export class BatchedFile {
  private fd: number | undefined
  private batch = Buffer.allocUnsafe(WRITE_BATCH)
  /** The other buffer: being written by `writing`, or free once it settles. */
  private spare = Buffer.allocUnsafe(WRITE_BATCH)
  private writing: Promise<void> = Promise.resolve()
  private used = 0
  private position = 0

  constructor(
    file: string,
    private readonly writeAt: WriteAt = positionedWrite
  ) {
    this.fd = openSync(file, 'w')
  }

  /** Takes a copy of `bytes`; waits only when a block is full and the previous one is still being written. */
  async write(bytes: Buffer): Promise<void> {
    for (let at = 0; at < bytes.length; ) {
      const n = bytes.copy(this.batch, this.used, at)
      this.used += n
      at += n
      if (this.used === WRITE_BATCH) await this.flush()
    }
  }

  /** Writes what is batched, waits for the writes and closes the file (once; a second call does nothing). */
  async close(): Promise<void> {
    if (this.fd === undefined) return
    try {
      if (this.used > 0) await this.flush()
      await this.writing
    } finally {
      closeSync(this.fd)
      this.fd = undefined
    }
  }

  /** Waits for the write under way and closes the file without writing what is batched (it is being removed). */
  async discard(): Promise<void> {
    if (this.fd === undefined) return
    this.used = 0
    await this.writing.catch(() => {})
    closeSync(this.fd)
    this.fd = undefined
  }

  /** Waits until the spare buffer is written (throwing if that failed), then starts writing the batch and swaps. */
  private async flush(): Promise<void> {
    await this.writing
    const full = this.batch
    this.writing = this.writeAt(this.fd!, full, this.used, this.position)
    // Handled here so that a failure waits, unreported, for the next flush or close to throw it.
    this.writing.catch(() => {})
    this.position += this.used
    this.used = 0
    this.batch = this.spare
    this.spare = full
  }
}

type WriteAt = (fd: number, buffer: Buffer, length: number, position: number) => Promise<void>

/** Writes `length` bytes of `buffer` at `position`, however many system calls it takes. */
export function positionedWrite(fd: number, buffer: Buffer, length: number, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (offset: number) =>
      fsWrite(fd, buffer, offset, length - offset, position + offset, (e, n) => {
        if (e) return reject(e)
        if (offset + n < length) return next(offset + n)
        resolve()
      })
    next(0)
  })
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

/** A grpc-gateway stream error ({"error": {code, message}} after the 200 header) at the end of the
 *  body, as an error that says so; undefined when the end is anything else. */
async function streamErrorAtEnd(file: string, size: number): Promise<InvalidZipError | undefined> {
  const tail = await readTail(file, size, 16 * 1024)
  const text = tail.toString('latin1').trimEnd()
  if (!text.endsWith('}')) return undefined
  for (let at = text.lastIndexOf('{'); at >= 0; at = text.lastIndexOf('{', at - 1)) {
    if (!/^\{\s*"error"\s*:/.test(text.slice(at))) continue
    try {
      const status = rpcStatusOf(JSON.parse(Buffer.from(text.slice(at), 'latin1').toString('utf8')))
      if (!status) return undefined
      return new InvalidZipError(
        `the server broke off the download after ${size - tail.length + at} bytes with a stream error: ${grpcCodeName(status.code)}: ${status.message || '(no message)'}`
      )
    } catch {
      continue
    }
  }
  return undefined
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

export interface DownloadOptions extends SaveOptions {
  /** Waits between tries, and the absolute time past which no try waits. */
  clock?: Clock
  deadline?: number
}

/** Tries of a download in all: a lasting 503 costs this many GETs, with backoff between them. */
const DOWNLOAD_ATTEMPTS = 4
/** Backoff before try n+1: base·2^(n-1), half of it fixed and half jittered (0.25–0.5 s, 0.5–1 s, 1–2 s). */
const BACKOFF_BASE_MS = 500
const BACKOFF_MAX_MS = 8_000

/** Stream errors of a body cut mid-way: the export is fetched again. */
const CUT_CODES = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED'])

function worthAnotherTry(e: unknown): boolean {
  if (e instanceof InvalidZipError) return e.retryable
  return isTransientError(e) || CUT_CODES.has((e as NodeJS.ErrnoException).code ?? '')
}

/** Opens the download and saves it; a transient error status, a cut, short, corrupt or invalid body
 *  is discarded and fetched again after a backoff (honouring Retry-After), at most `attempts` times
 *  in all and never past the deadline. */
export async function downloadZip(
  open: () => Promise<{ body: Readable; contentLength?: number }>,
  file: string,
  o: DownloadOptions = {}
): Promise<SavedZip & { attempts: number }> {
  const attempts = DOWNLOAD_ATTEMPTS
  const clock = o.clock ?? systemClock
  for (let attempt = 1; ; attempt++) {
    try {
      const { body, contentLength } = await open()
      return { ...(await saveZip(body, file, contentLength, o)), attempts: attempt }
    } catch (e) {
      if (o.signal?.aborted) throw abortReason(o.signal)
      if (!worthAnotherTry(e)) throw e
      const message = (e as Error).message
      if (attempt >= attempts) {
        throw new DownloadFailedError(`the download failed ${attempt} times; the last time: ${message}`)
      }
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1))
      const delay = Math.max(e instanceof OctoplantError ? (e.retryAfterMs ?? 0) : 0, base / 2 + (Math.random() * base) / 2)
      if (o.deadline !== undefined && clock.now() + delay >= o.deadline) {
        throw new DownloadFailedError(`the download failed ${attempt} times and no time is left to try again before the timeout; the last time: ${message}`)
      }
      o.logger?.warning(`download attempt ${attempt} of ${attempts} failed (${message}); downloading again in ${(delay / 1000).toFixed(1)}s`)
      await clock.sleep(delay, o.signal)
    }
  }
}
