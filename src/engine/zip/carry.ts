// The bytes a parse could not use yet (a header or an entry cut by the chunk's end), kept for the
// next chunk in one buffer that is reused: copying the leftover into a fresh buffer for every chunk
// would leave two dead ArrayBuffers per chunk for the GC. The leftover stays where it is until the
// buffer's end is reached: a scan that holds bytes back while zlib works (batch.ts) would otherwise
// move them all for every chunk that arrives.

/** Smallest store: a few chunks' worth, so that it rarely has to grow. */
const MIN_STORE = 64 * 1024

export class Carry {
  private store = Buffer.alloc(0)
  /** The leftover is store[start, start + length). */
  private start = 0
  private length = 0

  /** The leftover followed by `chunk`, as one buffer: the chunk itself when nothing is left over,
   *  else a view of the store, valid until the next call. */
  join(chunk: Buffer): Buffer {
    if (this.length === 0) return chunk
    if (this.start + this.length + chunk.length > this.store.length) this.makeRoom(this.length + chunk.length)
    chunk.copy(this.store, this.start + this.length)
    return this.store.subarray(this.start, this.start + this.length + chunk.length)
  }

  /** Keeps `buf` from `at` on for the next join (buf is the last join's result); returns it. */
  keep(buf: Buffer, at: number): Buffer {
    const rest = buf.length - at
    if (rest > 0 && buf.buffer === this.store.buffer) {
      // A view of the store: the leftover is already in it.
      this.start += at
    } else if (rest > 0) {
      this.start = 0
      this.length = 0
      this.makeRoom(rest)
      buf.copy(this.store, 0, at)
    } else {
      this.start = 0
    }
    this.length = rest
    return this.store.subarray(this.start, this.start + rest)
  }

  /** Moves the leftover to the store's start, in a larger store when `n` bytes would not fit. */
  private makeRoom(n: number): void {
    if (n > this.store.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, 2 * this.store.length, MIN_STORE))
      this.store.copy(bigger, 0, this.start, this.start + this.length)
      this.store = bigger
    } else {
      this.store.copyWithin(0, this.start, this.start + this.length)
    }
    this.start = 0
  }
}
