// A name's 52-bit key: how the scan, the central directory's check and the extraction's name check
// tell hundreds of thousands of names apart without keeping them. Two names share a key about once
// in 2^52 pairs; equal names always share one, so a key can only make a check refuse too much, never
// let a repeated name through.
//
// Not two CRC-32s with different seeds, as before: CRC-32 is affine, so two names of one length
// that share a CRC-32 share it under every seed and after every common prefix (the tests hold such
// a pair, found among 214,877 names of one pattern), and the key was 32 bits wide for them. Two
// multiplicative hashes (FNV-1a, and a multiply–xorshift with murmur3's constants) are not linear,
// run in one pass in JavaScript, and cost less than two calls into zlib's crc32 (BENCHMARKS.md).

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
const MIX_SEED = 0x9e3779b9
const MIX_PRIME = 0x85ebca6b

/** The key of buf[from..to) (a name as the ZIP stores it). */
export function bytesKey(buf: Uint8Array, from: number, to: number): number {
  let fnv = FNV_OFFSET
  let mix = MIX_SEED
  for (let i = from; i < to; i++) {
    const b = buf[i]
    fnv = Math.imul(fnv ^ b, FNV_PRIME)
    mix = Math.imul(mix ^ b, MIX_PRIME)
    mix ^= mix >>> 15
  }
  return keyOf(fnv, mix, to - from)
}

/** The key of a string, by its UTF-16 code units (a path as the extraction would write it). */
export function textKey(text: string): number {
  let fnv = FNV_OFFSET
  let mix = MIX_SEED
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    fnv = Math.imul(fnv ^ c, FNV_PRIME)
    mix = Math.imul(mix ^ c, MIX_PRIME)
    mix ^= mix >>> 15
  }
  return keyOf(fnv, mix, text.length)
}

/** 32 bits of one hash and 20 of the other, each finished with murmur3's final mix (which spreads
 *  the last units' bits over the whole word) and the length. */
function keyOf(fnv: number, mix: number, length: number): number {
  return finish(fnv ^ length) * 0x100000 + (finish(mix + length) & 0xfffff)
}

function finish(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, MIX_PRIME)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
