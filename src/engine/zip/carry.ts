// The bytes a parse could not use yet (a header or an entry cut by the chunk's end), kept for the
// next chunk in one buffer that is reused: copying the leftover into a fresh buffer for every chunk
// would leave two dead ArrayBuffers per chunk for the GC.

/** Smallest store: a few chunks' worth, so that it rarely has to grow. */
const MIN_STORE = 64 * 1024

export class Carry {
  private store = Buffer.alloc(0)
  private length = 0

  /** The leftover followed by `chunk`, as one buffer: the chunk itself when nothing is left over,
   *  else a view of the store, valid until the next call. */
  join(chunk: Buffer): Buffer {
    if (this.length === 0) return chunk
    this.reserve(this.length + chunk.length)
    chunk.copy(this.store, this.length)
    return this.store.subarray(0, this.length + chunk.length)
  }

  /** Keeps `buf` from `at` on for the next join (buf may be the store's own view); returns it. */
  keep(buf: Buffer, at: number): Buffer {
    const rest = buf.length - at
    if (rest > 0) {
      // No growth when buf is the store: rest is then within it. Buffer.copy moves overlapping bytes.
      this.reserve(rest)
      buf.copy(this.store, 0, at)
    }
    this.length = rest
    return this.store.subarray(0, rest)
  }

  private reserve(n: number): void {
    if (n <= this.store.length) return
    const bigger = Buffer.allocUnsafe(Math.max(n, 2 * this.store.length, MIN_STORE))
    this.store.copy(bigger, 0, 0, this.length)
    this.store = bigger
  }
}
