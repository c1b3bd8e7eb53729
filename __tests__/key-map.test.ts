import { describe, expect, it } from 'vitest'
import { KeyMap } from '../src/engine/zip/key-map.js'
import { bytesKey } from '../src/engine/zip/name-key.js'

describe('KeyMap', () => {
  it('keeps every key with its last value, through growth and keys that share their low bits', () => {
    const map = new KeyMap()
    const reference = new Map<number, number>()
    // Keys that differ only above bit 32 land in one slot and probe past each other.
    const keys = [...Array.from({ length: 3000 }, (_, i) => (i + 1) * 2 ** 32 + 7), ...Array.from({ length: 5000 }, (_, i) => bytesKey(Buffer.from(`tree/${i}.awl`), 0, 7 + String(i).length))]
    keys.forEach((key, i) => {
      const value = i % 3 === 0 ? -i - 1 : i
      map.set(key, value)
      reference.set(key, value)
    })
    map.set(keys[10], 42)
    reference.set(keys[10], 42)
    for (const [key, value] of reference) expect(map.get(key)).toBe(value)
    expect(map.has(0)).toBe(false)
    expect(map.get(2 ** 52 - 1)).toBeUndefined()
    expect(map.has(keys[4321])).toBe(true)
  })
})
