// Inflating an entry's deflate data with node:zlib's documented API: small entries in one
// synchronous call, large ones (or ones whose size is not known) as a stream, which also tells how
// many input bytes the deflate stream used, so that the scan knows where an entry ends when its
// sizes follow its data.
import { createInflateRaw, inflateRawSync } from 'node:zlib'
import { corrupt, type EntryHeader, InvalidZipError } from './format.js'

/** Entries whose compressed data is at most this are inflated in one synchronous call. */
export const SYNC_COMPRESSED_MAX = 256 * 1024
/** … and whose output is at most this (a larger one is inflated as a stream: bombs stay small). */
export const SYNC_OUTPUT_MAX = 4 * 1024 * 1024

/** A streaming raw inflater for one large entry: tells how many input bytes the deflate stream used. */
export class Inflater {
  private readonly zlib = createInflateRaw()
  ended = false
  private error?: Error
  private readonly finished: Promise<void>

  constructor(
    private readonly header: EntryHeader,
    onData: (bytes: Buffer) => void
  ) {
    this.finished = new Promise<void>((resolve, reject) => {
      this.zlib.on('data', (bytes: Buffer) => {
        try {
          onData(bytes)
        } catch (e) {
          this.error = e as Error
          this.zlib.destroy()
        }
      })
      this.zlib.on('end', () => {
        this.ended = true
        resolve()
      })
      this.zlib.on('error', (e: Error) => {
        this.error ??= e instanceof InvalidZipError ? e : corrupt(header, e.message)
        reject(this.error)
      })
      this.zlib.on('close', () => (this.error ? reject(this.error) : undefined))
    })
    this.finished.catch(() => {})
  }

  /** Compressed bytes the deflate stream has used. */
  get consumed(): number {
    return this.zlib.bytesWritten
  }

  write(bytes: Buffer): Promise<void> {
    if (this.error) return Promise.reject(this.error)
    return new Promise((resolve, reject) => {
      this.zlib.write(bytes, e => (e || this.error ? reject(this.error ?? corrupt(this.header, e!.message)) : resolve()))
    })
  }

  /** Ends the input and waits for the last output. */
  async end(): Promise<void> {
    if (!this.ended) this.zlib.end()
    await this.finished
    if (this.error) throw this.error
  }

  destroy(): void {
    this.zlib.destroy()
  }
}

/** The deflate stream at the start of the input, inflated, and the input bytes it took. */
export interface Inflated {
  output: Buffer
  consumed: number
}

/** Output buffer of a one-call inflate whose size is not known: small enough to come from Node's
 *  buffer pool (below half its 8 KiB), so that the many small entries of an export do not each leave
 *  an ArrayBuffer of zlib's default 16 KiB for the GC; a larger output takes a few of them. */
const UNKNOWN_SIZE_CHUNK = 2048

/** What an output buffer of known size is given beyond it: zlib's JavaScript side takes a buffer
 *  that comes back full for "more output may follow", and allocates a second one of the same size
 *  and calls zlib again to find that none does; one spare byte tells it at once. */
export const ROOM = 1

/** Inflates the deflate stream at the start of `bytes` in one synchronous call: its output and the
 *  input it took; 'more' when the input ends before the stream does, 'large' when the output would
 *  exceed `most`. `size`: the output's size when the ZIP says it (one output buffer of that size).
 *  Corrupt data throws, named as such.
 *
 *  inflateRawSync builds a zlib context per call. That costs more per entry than reusing one, which
 *  only zlib's internal binding allows; this stays on the documented API (see BENCHMARKS.md). */
export function inflateOnce(h: EntryHeader, bytes: Buffer, most: number, size?: number): Inflated | 'more' | 'large' {
  try {
    const chunkSize = Math.max(64, size === undefined ? UNKNOWN_SIZE_CHUNK : size + ROOM)
    const { buffer, engine } = inflateRawSync(bytes, { info: true, chunkSize, maxOutputLength: Math.max(1, Math.min(most, 2 ** 31 - 1)) }) as unknown as {
      buffer: Buffer
      engine: { bytesWritten: number }
    }
    return { output: buffer, consumed: engine.bytesWritten }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'Z_BUF_ERROR') return 'more'
    if (code === 'ERR_BUFFER_TOO_LARGE') return 'large'
    throw corrupt(h, (e as Error).message)
  }
}
