// Streams the export to disk, hashing on the way, then verifies the ZIP before it takes its final
// name: the file at the returned path is only ever a complete, verified ZIP.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import * as path from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Logger } from './logger.js'
import { isTransientError } from './octoplant/request.js'
import { InvalidZipError, inspectZip, type ZipReport } from './zip.js'

export interface SavedZip {
  path: string
  size: number
  sha256: string
  report: ZipReport
  /** Time spent receiving and writing, and checking the ZIP afterwards. */
  streamMs: number
  verifyMs: number
}

/** Write buffer of the file stream; large enough that a fast link is not held up by small writes. */
const WRITE_HIGH_WATER_MARK = 1024 * 1024

export async function saveZip(body: Readable, file: string, contentLength: number | undefined, signal?: AbortSignal): Promise<SavedZip> {
  await mkdir(path.dirname(file), { recursive: true })
  const partial = `${file}.partial`
  const hash = createHash('sha256')
  let size = 0
  const started = performance.now()
  try {
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk)
          size += chunk.length
          yield chunk
        }
      },
      createWriteStream(partial, { highWaterMark: WRITE_HIGH_WATER_MARK }),
      { signal }
    )
    if (contentLength !== undefined && size !== contentLength) {
      throw new InvalidZipError(`the download ended after ${size} of ${contentLength} bytes`)
    }
    const streamed = performance.now()
    const report = await inspectZip(partial)
    await rename(partial, file)
    const verifyMs = performance.now() - streamed
    return { path: file, size, sha256: hash.digest('hex'), report, streamMs: streamed - started, verifyMs }
  } catch (e) {
    await rm(partial, { force: true })
    throw e
  }
}

export interface DownloadOptions {
  /** Tries in all (a broken or invalid download is fetched again). */
  attempts?: number
  signal?: AbortSignal
  logger?: Logger
}

/** Stream errors of a body cut mid-way: the export is fetched again. */
const CUT_CODES = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED'])

function worthAnotherTry(e: unknown): boolean {
  if (e instanceof InvalidZipError) return e.retryable
  return isTransientError(e) || CUT_CODES.has((e as NodeJS.ErrnoException).code ?? '')
}

/** Opens the download and saves it; a cut, short, corrupt or invalid body is discarded and fetched
 *  again, at most `attempts` times in all. */
export async function downloadZip(
  open: () => Promise<{ body: Readable; contentLength?: number }>,
  file: string,
  o: DownloadOptions = {}
): Promise<SavedZip & { attempts: number }> {
  const attempts = o.attempts ?? 3
  for (let attempt = 1; ; attempt++) {
    try {
      const { body, contentLength } = await open()
      return { ...(await saveZip(body, file, contentLength, o.signal)), attempts: attempt }
    } catch (e) {
      if (o.signal?.aborted) throw o.signal.reason
      if (!worthAnotherTry(e)) throw e
      const message = (e as Error).message
      if (attempt >= attempts) {
        throw new InvalidZipError(`the download failed ${attempt} times; the last time: ${message}`, false)
      }
      o.logger?.warning(`download attempt ${attempt} of ${attempts} failed (${message}); downloading again`)
    }
  }
}
