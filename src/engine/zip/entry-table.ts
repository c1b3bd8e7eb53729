// Per-entry facts of a ZIP kept in typed arrays, so that hundreds of thousands of entries cost a few
// bytes each and no object each: what the scan verified, or the central directory as an index.
/** Per-entry facts in typed arrays: 37 bytes an entry, and no object per entry for the GC. */
export class EntryTable {
  count = 0
  private capacity: number
  offsets: Float64Array
  compressedSizes: Float64Array
  sizes: Float64Array
  crcs: Uint32Array
  /** The names' 52-bit keys (name-key.ts). */
  nameKeys: Float64Array
  /** Set when the central directory named it (or, for a central directory index, when the scan met it). */
  listed: Uint8Array

  /** `expected`: the number of entries when known (no growing, no slack). */
  constructor(expected = 1024) {
    this.capacity = Math.max(16, expected)
    this.offsets = new Float64Array(this.capacity)
    this.compressedSizes = new Float64Array(this.capacity)
    this.sizes = new Float64Array(this.capacity)
    this.crcs = new Uint32Array(this.capacity)
    this.nameKeys = new Float64Array(this.capacity)
    this.listed = new Uint8Array(this.capacity)
  }

  add(offset: number, compressedSize: number, size: number, crc: number, nameKey: number): void {
    if (this.count === this.capacity) this.grow()
    const i = this.count++
    this.offsets[i] = offset
    this.compressedSizes[i] = compressedSize
    this.sizes[i] = size
    this.crcs[i] = crc
    this.nameKeys[i] = nameKey
  }

  /** The index of an entry whose name (by its 52-bit key) an earlier entry has too, or -1: one sort
   *  of a typed array, no object per entry. */
  repeatedName(): number {
    const keys = this.nameKeys.subarray(0, this.count)
    const sorted = keys.slice().sort()
    for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) return keys.lastIndexOf(sorted[i])
    return -1
  }

  /** Index of the entry whose local header is at `offset` (entries are added in offset order). */
  indexOf(offset: number, hint: number): number {
    if (hint < this.count && this.offsets[hint] === offset) return hint
    let lo = 0
    let hi = this.count - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const at = this.offsets[mid]
      if (at === offset) return mid
      if (at < offset) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }

  /** Puts the entries in offset order (a central directory may list them in any order). */
  sortByOffset(): void {
    let sorted = true
    for (let i = 1; i < this.count && sorted; i++) sorted = this.offsets[i - 1] <= this.offsets[i]
    if (sorted) return
    const order = Array.from({ length: this.count }, (_, i) => i).sort((a, b) => this.offsets[a] - this.offsets[b])
    this.remake(this.capacity, (from, to) => order.forEach((at, i) => (to[i] = from[at])))
  }

  private grow(): void {
    this.capacity *= 2
    this.remake(this.capacity, (from, to) => to.set(from))
  }

  /** Replaces every column with a new one of `length`, filled by `fill`. */
  private remake(length: number, fill: (from: Column, to: Column) => void): void {
    const make = <T extends Column>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(length)
      fill(a, b)
      return b
    }
    this.offsets = make(this.offsets)
    this.compressedSizes = make(this.compressedSizes)
    this.sizes = make(this.sizes)
    this.crcs = make(this.crcs)
    this.nameKeys = make(this.nameKeys)
    this.listed = make(this.listed)
  }
}

type Column = Float64Array | Uint32Array | Uint8Array
