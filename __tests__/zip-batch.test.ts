// Small entries inflated together (src/engine/zip/batch.ts): the scan must end the same way as when
// it inflates every entry alone, whatever the bytes. One byte at a time the scan never has two
// entries whole in hand, so it reads them one by one: that run is the reference here.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { deflateRawSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { type ManyEntry, zipBuffer } from '../simulator/zip-writer.js'
import { ManifestWriter } from '../src/engine/evidence/manifest.js'
import { type Batch, inflateAhead, Scratch } from '../src/engine/zip/batch.js'
import { ZipCheck } from '../src/engine/zip/check.js'

const dir = () => mkdtempSync(path.join(tmpdir(), 'batch-'))

/** Entries of a project tree: a few hundred bytes of text each. */
function smallEntries(count: number, from = 0): ManyEntry[] {
  return Array.from({ length: count }, (_, i) => ({ name: `tree/Line ${(from + i) % 7}/block-${from + i}.awl`, data: Buffer.from(`NETWORK ${from + i}\n${'rung A; rung B; '.repeat(8 + ((from + i) % 13))}\n`) }))
}

/** The scan's verdict on `zip` fed `chunk` bytes at a time: its report and manifest, or its error. */
async function scan(zip: Buffer, chunk: number): Promise<{ report?: unknown; manifest?: string; error?: string }> {
  const d = dir()
  const file = path.join(d, 'export.zip')
  writeFileSync(file, zip)
  const manifest = new ManifestWriter(path.join(d, 'manifest.sha256'))
  const check = new ZipCheck({ manifest })
  try {
    for (let at = 0; at < zip.length; at += chunk) await check.write(zip.subarray(at, at + chunk))
    const report = await check.finish(file)
    const written = manifest.finish()
    return { report, manifest: readFileSync(written.path, 'utf8') }
  } catch (e) {
    manifest.discard()
    return { error: (e as Error).message }
  }
}

/** The entries a batch from the ZIP's first byte takes, as [local header offset, output] pairs. */
async function batchOf(zip: Buffer): Promise<[number, string][]> {
  const { batch } = await inflateAhead(zip, 0, 0, new Scratch())
  return batch ? taken(batch, zip) : []
}

function taken(batch: Batch, zip: Buffer): [number, string][] {
  const out: [number, string][] = []
  // Each local header's offset, in order, as the scan meets them.
  for (let p = zip.indexOf('PK\x03\x04'); p >= 0 && !batch.done; p = zip.indexOf('PK\x03\x04', p + 1)) {
    const entry = batch.take(p)
    if (entry) out.push([p, entry.output.toString()])
  }
  return out
}

/** Deflate data that ends after its first two bytes (an empty stream), followed by a gzip member
 *  that inflates to `content`: a gzip reader that did not check where each stream ends would take
 *  it for the entry's content. */
function smuggled(content: Buffer): Buffer {
  const member = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]), deflateRawSync(content)])
  return Buffer.concat([Buffer.from([0x03, 0x00]), Buffer.alloc(8), member])
}

describe('small entries inflated together', () => {
  it.each([
    ['with data descriptors', { descriptors: true }],
    ['with sizes in the local header', { descriptors: false }]
  ] as const)('end as one by one: the same report and manifest (%s)', async (_, o) => {
    const zip = zipBuffer(smallEntries(400), o)
    const batched = await batchOf(zip)
    expect(batched.length).toBe(400)
    expect(batched[17][1]).toBe(smallEntries(1, 17)[0].data.toString())
    const one = await scan(zip, 1)
    expect(one.error).toBeUndefined()
    for (const chunk of [zip.length, 16 * 1024, 1000]) expect(await scan(zip, chunk)).toEqual(one)
  }, 60_000)

  it('names a damaged entry inside a run as one by one does', async () => {
    const entries = smallEntries(300)
    const zip = zipBuffer(entries)
    const at = zip.indexOf(deflateRawSync(entries[150].data)) + 10
    const damaged = Buffer.from(zip)
    damaged[at] ^= 0x55
    const one = await scan(damaged, 1)
    expect(one.error).toMatch(/^entry "tree\/Line 3\/block-150\.awl" is corrupt/)
    expect(await scan(damaged, damaged.length)).toEqual(one)
    expect(await batchOf(damaged)).toEqual([])
  }, 60_000)

  it('never takes a deflate stream that ends before its entry does (a gzip member smuggled in)', async () => {
    const content = Buffer.from('NETWORK 1\nrung X; rung Y;\n'.repeat(20))
    for (const descriptors of [true, false]) {
      const entries: ManyEntry[] = [...smallEntries(20), { name: 'tree/smuggled.awl', data: content, deflated: smuggled(content) }, ...smallEntries(20, 21)]
      const zip = zipBuffer(entries, { descriptors })
      const batched = await batchOf(zip)
      // The run stops before the crafted entry: it is read alone, and refused.
      expect(batched.map(([, text]) => text)).toEqual(smallEntries(20).map(e => e.data.toString()))
      const one = await scan(zip, 1)
      expect(one.error).toMatch(/^entry "tree\/smuggled\.awl" is corrupt/)
      expect(await scan(zip, zip.length)).toEqual(one)
    }
  }, 60_000)

  it('reads alone an entry whose bytes could start a gzip member, and batches around it', async () => {
    // Stored deflate blocks (level 0) carry the content as it is: here, a gzip member's first bytes.
    const content = Buffer.concat([Buffer.from('header '), Buffer.from([0x1f, 0x8b, 0x08]), Buffer.from(' trailer')])
    const entries: ManyEntry[] = [...smallEntries(10), { name: 'odd.bin', data: content, deflated: deflateRawSync(content, { level: 0 }) }, ...smallEntries(10, 11)]
    const zip = zipBuffer(entries)
    expect(await batchOf(zip)).toHaveLength(10)
    const whole = await scan(zip, zip.length)
    expect(whole.error).toBeUndefined()
    expect(whole.manifest).toContain('  odd.bin\n')
    expect(await scan(zip, 1)).toEqual(whole)
  }, 60_000)

  it('reads alone an entry whose trailer would hold the bytes that start a gzip member', async () => {
    // 0x00088b1f bytes: the member's size field, little-endian, is 1f 8b 08 00.
    const odd = Buffer.alloc(0x00088b1f)
    for (const descriptors of [true, false]) {
      const entries: ManyEntry[] = [...smallEntries(5), { name: 'zeros.bin', data: odd }, ...smallEntries(5, 6)]
      const zip = zipBuffer(entries, { descriptors })
      expect(await batchOf(zip)).toHaveLength(5)
      const whole = await scan(zip, zip.length)
      expect(whole.manifest).toContain(`${hashOf(odd)}  zeros.bin\n`)
      expect(await scan(zip, 1000)).toEqual(whole)
    }
  }, 60_000)

  it('falls back to one by one past a false descriptor signature inside the data', async () => {
    // A stored deflate block (5 bytes of header) whose content holds "PK\x07\x08" and sizes that
    // put the entry's end there: the batch takes it, zlib refuses it, the entries are read alone.
    const content = Buffer.alloc(200, 'x')
    const at = 60
    Buffer.from('PK\x07\x08').copy(content, at)
    content.writeUInt32LE(0x12345678, at + 4)
    content.writeUInt32LE(5 + at, at + 8)
    content.writeUInt32LE(99, at + 12)
    const entries: ManyEntry[] = [...smallEntries(5), { name: 'false-end.bin', data: content, deflated: deflateRawSync(content, { level: 0 }) }, ...smallEntries(5, 6)]
    const zip = zipBuffer(entries, { descriptors: true })
    expect(await batchOf(zip)).toEqual([])
    const whole = await scan(zip, zip.length)
    expect(whole.error).toBeUndefined()
    expect(whole.manifest).toContain(`${hashOf(content)}  false-end.bin\n`)
    expect(await scan(zip, 1)).toEqual(whole)
  }, 60_000)

  it('ends a run at an empty entry (a run of members is checked by their sizes)', async () => {
    for (const descriptors of [true, false]) {
      const entries: ManyEntry[] = [...smallEntries(4), { name: 'empty.txt', data: Buffer.alloc(0) }, ...smallEntries(4, 5)]
      const zip = zipBuffer(entries, { descriptors })
      expect(await batchOf(zip)).toHaveLength(4)
      const whole = await scan(zip, zip.length)
      expect(whole.manifest).toContain('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty.txt\n')
      expect(await scan(zip, 1)).toEqual(whole)
    }
  })

  it('runs several batches at once and ends as one by one, also when one in the middle fails', async () => {
    // 500 entries of 1 KiB that do not compress: a batch takes 128 KiB, so a run of four.
    const entries: ManyEntry[] = Array.from({ length: 500 }, (_, i) => ({ name: `tree/noise-${i}.bin`, data: randomBytes(1024) }))
    const zip = zipBuffer(entries, { descriptors: true })
    const first = await batchOf(zip)
    expect(first.length).toBeGreaterThan(100)
    expect(first.length).toBeLessThan(130)
    const one = await scan(zip, 1)
    expect(one.error).toBeUndefined()
    expect(one.manifest).toContain(`${hashOf(entries[499].data)}  tree/noise-499.bin\n`)
    for (const chunk of [zip.length, 64 * 1024, 16 * 1024, 1000]) expect(await scan(zip, chunk)).toEqual(one)

    const damaged = Buffer.from(zip)
    damaged[zip.indexOf(deflateRawSync(entries[300].data).subarray(0, 64)) + 30] ^= 0x55
    const alone = await scan(damaged, 1)
    expect(alone.error).toMatch(/^entry "tree\/noise-300\.bin" is corrupt/)
    for (const chunk of [damaged.length, 64 * 1024, 16 * 1024]) expect(await scan(damaged, chunk)).toEqual(alone)
  }, 60_000)
})

function hashOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}
