// A map from names' 52-bit keys (name-key.ts) to entry indices, in two typed arrays. The extraction's
// name check keeps one or two entries per file of the ZIP: a Map does that with a boxed number per
// key and, beyond a few thousand entries, a backing store in V8's large-object space, which for
// 70,000 entries grew the process by tens of MiB (BENCHMARKS.md). Open addressing with linear
// probing, at most half full; written by hand since no library keys a typed array by a double.

const EMPTY = -1

export class KeyMap {
  private size = 0

  /** Slots: a power of two, doubled whenever the map would be more than half full. */
  private keys = new Float64Array(1024).fill(EMPTY)
  private values = new Int32Array(1024)

  get(key: number): number | undefined {
    const i = this.slotOf(key)
    return this.keys[i] === EMPTY ? undefined : this.values[i]
  }

  has(key: number): boolean {
    return this.keys[this.slotOf(key)] !== EMPTY
  }

  set(key: number, value: number): void {
    if (2 * (this.size + 1) > this.keys.length) this.grow()
    const i = this.slotOf(key)
    if (this.keys[i] === EMPTY) this.size++
    this.keys[i] = key
    this.values[i] = value
  }

  /** The slot that holds `key`, or the empty one where it would go. */
  private slotOf(key: number): number {
    const mask = this.keys.length - 1
    // A key's low 32 bits mix both of its hashes.
    let i = (key >>> 0) & mask
    while (this.keys[i] !== key && this.keys[i] !== EMPTY) i = (i + 1) & mask
    return i
  }

  private grow(): void {
    const { keys, values } = this
    this.keys = new Float64Array(2 * keys.length).fill(EMPTY)
    this.values = new Int32Array(2 * keys.length)
    this.size = 0
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) this.set(keys[i], values[i])
  }
}
