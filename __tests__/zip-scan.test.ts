// The one-pass ZIP check (src/engine/zip-scan.ts) against every form a ZIP writer produces, fed in
// chunks of every size, and against the damage it must catch. `unzip -t` is the second opinion on
// what a valid ZIP is.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import yazl from 'yazl'
import { checkZipFile, gatewayOf } from '../__fixtures__/zips.js'
import { type ManyEntry, zipBuffer } from '../simulator/zip-writer.js'
import { saveZip } from '../src/engine/save-zip.js'
import { systemClock } from '../src/base/clock.js'
import { ZipCheck } from '../src/engine/zip/check.js'
import { extractZip } from '../src/engine/zip/extract.js'
import { InvalidZipError } from '../src/engine/zip/format.js'

const dir = () => mkdtempSync(path.join(tmpdir(), 'scan-'))

/** Text that deflates about 3:1, so that large entries stay large once compressed. */
function text(bytes: number, seed = 1): Buffer {
  const words = ['PLC', 'S7-1500', 'Line', 'OB1', 'FB12', 'network', 'rung', 'tag', 'HMI', 'drive', '\n']
  const out = Buffer.alloc(bytes)
  let x = seed
  for (let at = 0; at < bytes; ) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    const r = x >>> 8
    const w = r % 7 === 0 ? String(r % 99991) : words[r % words.length]
    at += out.write(`${w} `, at)
  }
  return out
}

interface Entry {
  name: string
  data: Buffer
  compress: boolean
  /** Written from a stream: sizes and CRC follow the data (a data descriptor). */
  descriptor?: boolean
}

async function yazlZip(entries: Entry[], o: { zip64?: boolean; comment?: string } = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const e of entries) {
    const options = { compress: e.compress, forceZip64Format: o.zip64 ?? false, mtime: new Date(0) }
    if (e.name.endsWith('/')) zip.addEmptyDirectory(e.name, { mtime: new Date(0) })
    else if (e.descriptor) zip.addReadStream(Readable.from([e.data]), e.name, options)
    else zip.addBuffer(e.data, e.name, options)
  }
  zip.end({ forceZip64Format: o.zip64 ?? false, comment: o.comment ?? '' })
  return buffer(zip.outputStream as unknown as Readable)
}

async function checkInChunks(bytes: Buffer, chunk: number) {
  const file = path.join(dir(), 'e.zip')
  writeFileSync(file, bytes)
  const check = new ZipCheck()
  for (let at = 0; at < bytes.length; at += chunk) await check.write(bytes.subarray(at, at + chunk))
  return check.finish(file)
}

function unzipAgrees(bytes: Buffer): void {
  const file = path.join(dir(), 'u.zip')
  writeFileSync(file, bytes)
  execFileSync('unzip', ['-tq', file], { stdio: 'pipe' })
}

const big = text(3 * 1024 * 1024, 7)
const forms: [string, () => Promise<Buffer>][] = [
  ['deflated, sizes in the local header', () => yazlZip([{ name: 'a.txt', data: text(5000), compress: true }, { name: 'tree/', data: Buffer.alloc(0), compress: false }])],
  ['stored, sizes in the local header', () => yazlZip([{ name: 'a.bin', data: randomBytes(70_000), compress: false }])],
  ['deflated with data descriptors', () => yazlZip([{ name: 'a.txt', data: text(40_000), compress: true, descriptor: true }, { name: 'b.txt', data: text(10), compress: true, descriptor: true }])],
  ['stored with a data descriptor', () => yazlZip([{ name: 'a.bin', data: randomBytes(50_000), compress: false, descriptor: true }, { name: 'b.txt', data: text(300), compress: true }])],
  ['a large deflated entry (streamed inflate), sizes known', () => yazlZip([{ name: 'big.txt', data: big, compress: true }, { name: 'after.txt', data: text(100), compress: true }])],
  ['a large deflated entry with a data descriptor', () => yazlZip([{ name: 'big.txt', data: big, compress: true, descriptor: true }, { name: 'after.txt', data: text(100), compress: true, descriptor: true }])],
  ['ZIP64 records throughout', () => yazlZip([{ name: 'a.txt', data: text(5000), compress: true, descriptor: true }, { name: 'b.bin', data: randomBytes(999), compress: false }], { zip64: true })],
  ['an empty ZIP', () => yazlZip([])],
  ['a ZIP with a comment', () => yazlZip([{ name: 'a.txt', data: text(50), compress: true }], { comment: 'octoplant export' })],
  [
    "Info-ZIP's zip (extra fields, a folder tree)",
    async () => {
      const d = dir()
      mkdirSync(path.join(d, 'src/Line 1'), { recursive: true })
      writeFileSync(path.join(d, 'src/Line 1/OB1.awl'), text(20_000))
      writeFileSync(path.join(d, 'src/random.bin'), randomBytes(10_000))
      execFileSync('zip', ['-qr', 'out.zip', 'src'], { cwd: d })
      return readFileSync(path.join(d, 'out.zip'))
    }
  ]
]

describe('the one-pass ZIP check', () => {
  it.each(forms)('reads %s in chunks of any size, as unzip -t does', async (_, make) => {
    const bytes = await make()
    if (bytes.length > 22) unzipAgrees(bytes) // unzip calls an empty ZIP an error
    const whole = await checkInChunks(bytes, bytes.length || 1)
    for (const chunk of [1, 13, 16 * 1024, 64 * 1024 + 3]) {
      if (chunk === 1 && bytes.length > 100_000) continue
      expect(await checkInChunks(bytes, chunk)).toEqual(whole)
    }
    expect(whole.entryCount).toBe(whole.entries.length)
    expect(whole.totalSize).toBe(whole.entries.reduce((n, e) => n + e.size, 0))
  })

  it('lists what unzip lists, with the same sizes and CRCs', async () => {
    const bytes = await forms[9][1]()
    const file = path.join(dir(), 'z.zip')
    writeFileSync(file, bytes)
    const verbose = execFileSync('unzip', ['-Zl', file]).toString()
    const report = await checkZipFile(file)
    for (const e of report.entries) expect(verbose).toMatch(new RegExp(`\\s${e.size}\\s.*${e.name.replace(/[.]/g, '\\.')}$`, 'm'))
    expect(report.folders).toEqual([{ folder: 'src/', count: 4, bytes: 30_000 }])
  })

  it.each([
    ['signed (as Go, yazl and Java write it): found in the stream', true],
    ['without the optional signature: settled from disk with the central directory', 'unsigned']
  ] as const)('verifies stored entries with data descriptors, %s', async (_, signed) => {
    const data = randomBytes(50_000)
    // A false signature inside the data: it does not end the entry.
    Buffer.from('PK\x07\x08').copy(data, 1000)
    const entries: ManyEntry[] = [
      { name: 'first.txt', data: text(100), deflate: false },
      { name: 'stored.bin', data, deflate: false },
      { name: 'last.txt', data: text(100), deflate: true }
    ]
    const bytes = zipBuffer(entries, { descriptors: signed === true ? true : 'unsigned' })
    unzipAgrees(bytes)
    const file = path.join(dir(), 'export.zip')
    const check = new ZipCheck()
    await check.write(bytes)
    writeFileSync(`${file}.whole`, bytes)
    await check.finish(`${file}.whole`)
    expect(check.unsettled).toBe(signed !== true)
    const saved = await saveZip(gatewayOf(undefined, bytes.subarray(0, 20_000), bytes.subarray(20_000)), file, { clock: systemClock })
    expect(saved.report.entries.map(e => [e.name, e.size])).toEqual([['first.txt', 100], ['stored.bin', 50_000], ['last.txt', 100]])
    // With the gateway's delimiter after it, the ZIP's end is still found.
    const delimited = await saveZip(gatewayOf(undefined, bytes, Buffer.from('\n')), path.join(dir(), 'export.zip'), { clock: systemClock })
    expect(delimited).toMatchObject({ size: bytes.length, droppedTrailer: 1 })
    // The same ZIP with one byte of the stored entry changed is refused, naming it.
    const at = bytes.indexOf(data.subarray(0, 32)) + 20_000
    const damaged = Buffer.from(bytes)
    damaged[at] ^= 0xff
    const d = dir()
    const error = await saveZip(gatewayOf(undefined, damaged), path.join(d, 'export.zip'), { clock: systemClock }).catch(e => e)
    expect(error).toBeInstanceOf(InvalidZipError)
    expect(error.message).toMatch(/^entry "stored.bin" is corrupt: CRC-32 [0-9a-f]{8} where the ZIP says [0-9a-f]{8}$/)
    expect(readdirSync(d)).toEqual([])
  })

  it('catches a CRC error in the 50,000th entry of a 70,000-entry ZIP (ZIP64, data descriptors)', async () => {
    const entries: ManyEntry[] = Array.from({ length: 70_000 }, (_, i) => ({
      name: `projectTree/Line ${i % 40}/dev${i}/block-${i}.awl`,
      data: Buffer.from(`entry ${i}: OB1 network 1 rung ${i * 7}\n`),
      deflate: i % 2 === 0
    }))
    const bytes = zipBuffer(entries)
    unzipAgrees(bytes)
    // Entry 49,999 (the 50,000th) is stored: change a byte of its data.
    const marker = Buffer.from('entry 49999: OB1')
    const at = bytes.indexOf(marker)
    expect(at).toBeGreaterThan(0)
    const damaged = Buffer.from(bytes)
    damaged[at + 6] = 0x38 // '4' → '8'
    const file = path.join(dir(), 'big.zip')
    writeFileSync(file, bytes)
    const report = await checkZipFile(file)
    expect(report.entryCount).toBe(70_000)
    expect(report.entries).toHaveLength(1000)
    expect(report.folders).toEqual([{ folder: 'projectTree/', count: 70_000, bytes: report.totalSize }])
    const d = dir()
    const error = await saveZip(gatewayOf(undefined, damaged), path.join(d, 'export.zip'), { clock: systemClock }).catch(e => e)
    expect(error).toBeInstanceOf(InvalidZipError)
    expect(error.message).toMatch(/^entry "projectTree\/Line 39\/dev49999\/block-49999\.awl" is corrupt: CRC-32 /)
    expect(readdirSync(d)).toEqual([])
  }, 60_000)

  it.each([
    ['deflated data damaged (sizes known)', async () => patchAt(await yazlZip([{ name: 'a.txt', data: text(20_000), compress: true }]), 300), /entry "a.txt" is corrupt/],
    ['deflated data damaged (data descriptor)', async () => patchAt(await yazlZip([{ name: 'a.txt', data: text(20_000), compress: true, descriptor: true }]), 300), /entry "a.txt" is corrupt/],
    ['a large deflated entry damaged (streamed)', async () => {
        const bytes = await yazlZip([{ name: 'big.txt', data: big, compress: true, descriptor: true }])
        expect(bytes.length).toBeGreaterThan(600_000)
        return patchAt(bytes, Math.floor(bytes.length / 2))
      }, /entry "big.txt" is corrupt/],
    [
      'a central directory whose CRC differs from the data',
      async () => {
        const bytes = await yazlZip([{ name: 'a.txt', data: text(100), compress: true }])
        const central = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
        return patchAt(bytes, central + 16)
      },
      /entry "a.txt" is corrupt: CRC-32 [0-9a-f]{8} where the ZIP says/
    ],
    [
      'an entry the central directory does not list',
      async () => {
        const bytes = await yazlZip([{ name: 'a.txt', data: text(100), compress: true }, { name: 'b.txt', data: text(100), compress: true }])
        const end = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
        const centralSize = bytes.readUInt32LE(end + 12)
        const first = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
        const secondLength = centralSize - (bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), first + 4) - first)
        // Drop the first central record: the end record then counts one.
        const out = Buffer.concat([bytes.subarray(0, first), bytes.subarray(first + (centralSize - secondLength), bytes.length)])
        const e = out.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
        out.writeUInt16LE(1, e + 8)
        out.writeUInt16LE(1, e + 10)
        out.writeUInt32LE(secondLength, e + 12)
        return out
      },
      /not a valid ZIP: its end record counts 1 entries, its central directory lists 1 and 1 entries are in no central directory record/
    ],
    ['bytes after the end record', async () => Buffer.concat([await yazlZip([{ name: 'a.txt', data: text(100), compress: true }]), Buffer.from('trailing')]), /not a valid ZIP: 8 bytes follow its end record/],
    ['a ZIP cut inside an entry', async () => (await yazlZip([{ name: 'a.bin', data: randomBytes(9000), compress: false }])).subarray(0, 5000), /not a valid ZIP: it ends after 5000 bytes, inside entry "a.bin"/],
    ['an HTML page', async () => Buffer.from('<html><body>Proxy error</body></html>'), /not a valid ZIP: it does not start with a ZIP header \(it starts with "<html><body>Proxy error/]
  ])('refuses %s', async (_, make, message) => {
    const bytes = await make()
    const file = path.join(dir(), 'x.zip')
    writeFileSync(file, bytes)
    const error = await checkZipFile(file).catch(e => e)
    expect(error).toBeInstanceOf(InvalidZipError)
    expect(error.message).toMatch(message)
  })

  it('extracts a ZIP whose central directory lists the entries out of order', async () => {
    const entries: ManyEntry[] = ['a.txt', 'b/c.txt', 'd.txt'].map((name, i) => ({ name, data: text(200 + i, i + 1) }))
    const bytes = zipBuffer(entries)
    const end = bytes.length - 22
    const start = bytes.readUInt32LE(end + 16)
    const records: Buffer[] = []
    for (let at = start; at < end; ) {
      const length = 46 + bytes.readUInt16LE(at + 28) + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32)
      records.push(bytes.subarray(at, at + length))
      at += length
    }
    const reordered = Buffer.concat([bytes.subarray(0, start), ...records.reverse(), bytes.subarray(end)])
    unzipAgrees(reordered)
    const d = dir()
    writeFileSync(path.join(d, 'e.zip'), reordered)
    expect(await extractZip(path.join(d, 'e.zip'), path.join(d, 'x'))).toBe(3)
    expect(readFileSync(path.join(d, 'x/b/c.txt')).equals(entries[1].data)).toBe(true)
  })

  it('extracts files whose folders come and go in the listing, and files beside folders', async () => {
    const names = ['a/1.txt', 'b/1.txt', 'a/2.txt', 'a/b/3.txt', 'a/4.txt', '5.txt', 'b/c/d/6.txt', 'b/7.txt']
    const entries: ManyEntry[] = names.map((name, i) => ({ name, data: text(100 + i, i + 1) }))
    const d = dir()
    writeFileSync(path.join(d, 'e.zip'), zipBuffer(entries))
    expect(await extractZip(path.join(d, 'e.zip'), path.join(d, 'x'))).toBe(names.length)
    for (const [i, name] of names.entries()) expect(readFileSync(path.join(d, 'x', name)).equals(entries[i].data)).toBe(true)
  })

  it('extracts every form it reads, byte for byte as unzip does', async () => {
    for (const [, make] of forms) {
      const bytes = await make()
      const d = dir()
      writeFileSync(path.join(d, 'e.zip'), bytes)
      await checkZipFile(path.join(d, 'e.zip'))
      const count = await extractZip(path.join(d, 'e.zip'), path.join(d, 'ours'))
      if (count === 0) continue // unzip calls an empty ZIP an error
      execFileSync('unzip', ['-q', path.join(d, 'e.zip'), '-d', path.join(d, 'theirs')])
      expect(count).toBe((await checkZipFile(path.join(d, 'e.zip'))).entryCount)
      expect(execFileSync('diff', ['-r', path.join(d, 'ours'), path.join(d, 'theirs')], { stdio: 'pipe' }).toString()).toBe('')
    }
  }, 30_000)
})

function patchAt(bytes: Buffer, at: number): Buffer {
  const out = Buffer.from(bytes)
  out[at] ^= 0x55
  return out
}
