// A text file written line by line from synchronous code (the ZIP scan's callbacks), in blocks:
// each line is encoded into one reused block at once, and a full block goes to disk with one write
// call, so a 200,000-entry manifest costs a few dozen writes, holds one block of memory, and keeps no
// line after it is written (no list of lines to join: BENCHMARKS.md has what that saved).
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs'
import { createHash, type Hash } from 'node:crypto'

/** Bytes gathered before they are written. */
const BLOCK = 64 * 1024
/** UTF-8 bytes a string of n UTF-16 units takes at most. */
const utf8Most = (n: number) => 3 * n

export class LineFile {
  private readonly fd: number
  private readonly block = Buffer.allocUnsafe(BLOCK)
  private used = 0
  private readonly hash?: Hash

  /** `hashed`: the SHA-256 of everything written is kept (the manifest's own digest). */
  constructor(
    readonly path: string,
    hashed = false
  ) {
    // Created, never opened through a link or over a file that stands there; owner only.
    this.fd = openSync(path, 'wx', 0o600)
    if (hashed) this.hash = createHash('sha256')
  }

  write(text: string): void {
    if (this.used + utf8Most(text.length) > BLOCK) this.flush()
    if (utf8Most(text.length) > BLOCK) this.put(Buffer.from(text, 'utf8'))
    else this.used += this.block.write(text, this.used, 'utf8')
  }

  /** Closes the file; the SHA-256 of its bytes when hashed. */
  close(): string | undefined {
    this.flush()
    closeSync(this.fd)
    return this.hash?.digest('hex')
  }

  /** Closes the file without writing what is pending (the run failed; the caller removes it). */
  abandon(): void {
    this.used = 0
    try {
      closeSync(this.fd)
    } catch {
      // closed already
    }
  }

  private flush(): void {
    this.put(this.block.subarray(0, this.used))
    this.used = 0
  }

  private put(bytes: Buffer): void {
    this.hash?.update(bytes)
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at)
  }
}

/** A text file's lines, read as the caller takes them (readline queues every line of a chunk ahead
 *  of a slower reader, which let V8 promote them and grow its heap, measured). Split on the byte
 *  "\n": no other UTF-8 character contains it. A final "\r" is dropped with it. A line longer than
 *  a chunk gathers its pieces in a list and is joined once, so a one-line file of any size is read
 *  in linear time. */
export async function* linesOf(path: string, signal?: AbortSignal): AsyncIterable<string> {
  let pieces: Buffer[] = []
  for await (const chunk of createReadStream(path, { highWaterMark: BLOCK, signal }) as AsyncIterable<Buffer>) {
    let start = 0
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      const line = pieces.length ? Buffer.concat([...pieces, chunk.subarray(start, nl)]) : chunk.subarray(start, nl)
      pieces = []
      yield line.toString('utf8', 0, line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length)
      start = nl + 1
    }
    if (start < chunk.length) pieces.push(chunk.subarray(start))
  }
  if (pieces.length) yield Buffer.concat(pieces).toString('utf8')
}
