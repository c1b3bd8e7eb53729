import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, lstatSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { Readable } from 'node:stream'
import { crc32 } from 'node:zlib'
import { buffer } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import yazl from 'yazl'
import { checkZipFile, gatewayOf, makeZip, patch } from '../__fixtures__/zips.js'
import { exportZip, projectFiles } from '../simulator/export-zip.js'
import { zipBuffer } from '../simulator/zip-writer.js'
import { saveZip } from '../src/engine/save-zip.js'
import { systemClock } from '../src/base/clock.js'
import { extractZip } from '../src/engine/zip/extract.js'
import { InvalidZipError } from '../src/engine/zip/format.js'
import { gatewayBody } from '../src/octoplant/download-body.js'

const dir = () => mkdtempSync(path.join(tmpdir(), 'dl-'))
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('saving the download', () => {
  it('streams a ZIP to disk with its size and sha256, and lists its entries and contents.json', async () => {
    const bytes = await buffer(
      exportZip({ orderName: 'o1', createdAt: new Date(0), exportContents: { projectTree: {}, jobList: { exportType: 'EXPORT_TYPE_JSON' } }, payloadBytes: 3_000_000 }).stream
    )
    const file = path.join(dir(), 'out', 'export.zip')
    const saved = await saveZip(gatewayOf(bytes.length, bytes.subarray(0, 1000), bytes.subarray(1000)), file, { clock: systemClock })
    expect(saved).toMatchObject({ path: file, size: bytes.length, sha256: sha256(bytes) })
    expect(readFileSync(file).equals(bytes)).toBe(true)
    expect(saved.report.entries.map(e => e.name)).toEqual([
      'contents.json',
      'projectTree.json',
      'jobList.json',
      ...projectFiles(0).map(([name]) => name),
      'payload.bin'
    ])
    expect(saved.report.contentsJson).toMatchObject({ orderName: 'o1', files: ['projectTree.json', 'jobList.json'] })
    expect(readdirSync(path.dirname(file))).toEqual(['export.zip'])
  })

  it('writes every byte in order while several batches are on their way to disk', async () => {
    const bytes = await buffer(exportZip({ orderName: 'o2', createdAt: new Date(0), exportContents: { projectTree: {} }, payloadBytes: 7_500_000 }).stream)
    // Odd-sized chunks, so that batches fill across chunk boundaries, and more batches than buffers.
    const chunks: Buffer[] = []
    for (let at = 0, step = 1; at < bytes.length; at += step, step = (step * 7 + 13_001) % 200_003) chunks.push(bytes.subarray(at, at + step))
    const file = path.join(dir(), 'export.zip')
    const saved = await saveZip(gatewayOf(bytes.length, ...chunks), file, { clock: systemClock })
    expect(saved).toMatchObject({ size: bytes.length, sha256: sha256(bytes) })
    expect(readFileSync(file).equals(bytes)).toBe(true)
  })

  it('hands every chunk on as it came: a caller\'s buffers are read, never changed', async () => {
    // A deflated entry over 4 MiB goes through the streaming inflater (zlib on the thread pool).
    const bytes = await makeZip({ 'small.txt': 'hello', 'large.txt': randomBytes(3_500_000).toString('base64') })
    const chunks = Array.from({ length: Math.ceil(bytes.length / 16_384) }, (_, i) => Buffer.from(bytes.subarray(i * 16_384, (i + 1) * 16_384)))
    const saved = await saveZip(gatewayOf(bytes.length, ...chunks), path.join(dir(), 'b.zip'), { clock: systemClock })
    expect(readFileSync(saved.path).equals(bytes)).toBe(true)
    expect(saved.sha256).toBe(sha256(bytes))
    expect(saved.report.entries.map(e => e.name)).toEqual(['small.txt', 'large.txt'])
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true)
  })

  it.each([
    ['an HTML page from a proxy', async () => Buffer.from('<html><title>502 Bad Gateway</title></html>'), /not a valid ZIP/],
    ['an empty body', async () => Buffer.alloc(0), /not a valid ZIP/],
    [
      'a ZIP with an error JSON appended after the 200 header',
      async () => Buffer.concat([await makeZip({ 'contents.json': '{}' }), Buffer.from('{"error":{"code":14,"message":"stream broken"}}')]),
      /^the server broke off the download after \d+ bytes with a stream error: UNAVAILABLE: stream broken$/
    ],
    [
      "a ZIP, the gateway's delimiter and a stream error (as grpc-gateway writes one after the 200 header)",
      async () =>
        Buffer.concat([await makeZip({ 'contents.json': '{}' }), Buffer.from('\n{"error": {"code": 13, "message": "disk read failed", "details": []}}\n')]),
      /^the server broke off the download after \d+ bytes with a stream error: INTERNAL: disk read failed$/
    ],
    ['a ZIP followed by other bytes after a line break', async () => Buffer.concat([await makeZip({ 'contents.json': '{}' }), Buffer.from('\nxyz\n')]), /not a valid ZIP/],
    [
      'a ZIP streamed as several messages with the delimiter after each (stock grpc-gateway framing of a multi-message stream)',
      async () => {
        const zip = await makeZip({ 'a.bin': randomBytes(5000).toString('base64') })
        return Buffer.concat([zip.subarray(0, 3000), Buffer.from('\n'), zip.subarray(3000), Buffer.from('\n')])
      },
      /not a valid ZIP|is corrupt/
    ],
    [
      'a ZIP whose entry bytes were damaged in transit',
      async () => patch(await makeZip({ 'a.txt': 'the quick brown fox jumps over the lazy dog' }, false), 'quick', 'quack'),
      /entry "a.txt" is corrupt: CRC-32/
    ],
    [
      'a ZIP cut short',
      async () => {
        const zip = await makeZip({ 'a.bin': randomBytes(5000).toString('base64') })
        return zip.subarray(0, zip.length / 2)
      },
      /not a valid ZIP/
    ]
  ])('refuses %s and leaves no file behind', async (_, body, message) => {
    const d = dir()
    const file = path.join(d, 'export.zip')
    const error = await saveZip(gatewayOf(undefined, await body()), file, { clock: systemClock }).catch(e => e)
    expect(error).toBeInstanceOf(InvalidZipError)
    expect(error.message).toMatch(message)
    expect(readdirSync(d)).toEqual([])
  })

  it.each([
    ['"\\n" in a chunk of its own', (zip: Buffer) => [zip, Buffer.from('\n')]],
    ['"\\r\\n" at the end of the last chunk', (zip: Buffer) => [Buffer.concat([zip, Buffer.from('\r\n')])]],
    ['"\\n" after each of two empty messages', (zip: Buffer) => [zip.subarray(0, 10), zip.subarray(10), Buffer.from('\n'), Buffer.from('\n')]]
  ])("drops the gateway's stream delimiter after the ZIP's end record: %s", async (_, chunks) => {
    const zip = await makeZip({ 'contents.json': '{"a":1}', 'b.txt': 'ends with a line break\n' })
    const file = path.join(dir(), 'export.zip')
    const debug: string[] = []
    const logger = { debug: (m: string) => debug.push(m), info: () => {}, warning: () => {} }
    const received = Buffer.concat(chunks(zip))
    const saved = await saveZip(gatewayOf(received.length, ...chunks(zip)), file, { clock: systemClock, logger })
    expect(saved).toMatchObject({ size: zip.length, sha256: sha256(zip), droppedTrailer: received.length - zip.length })
    expect(readFileSync(file).equals(zip)).toBe(true)
    expect(debug).toEqual([expect.stringMatching(/^dropped \d byte\(s\) after the ZIP's end record: the stream delimiter "(\\r)?\\n(\\n)?"$/)])
  })

  it('keeps a line break that belongs to the ZIP: a comment ending in "\\n"', async () => {
    const zip = new yazl.ZipFile()
    zip.addBuffer(Buffer.from('x'), 'x.txt')
    zip.end({ comment: Buffer.from('octoplant export\n') as unknown as string, forceZip64Format: false }) // yazl takes a Buffer too (its types say string)
    const bytes = await buffer(zip.outputStream as unknown as Readable)
    const file = path.join(dir(), 'export.zip')
    const saved = await saveZip(gatewayOf(undefined, bytes), file, { clock: systemClock })
    expect(saved).toMatchObject({ size: bytes.length, sha256: sha256(bytes), droppedTrailer: 0 })
    expect(readFileSync(file).equals(bytes)).toBe(true)
  })

  it('refuses a body shorter than its Content-Length', async () => {
    const bytes = await makeZip({ 'a.txt': 'hello' })
    const d = dir()
    const error = await saveZip(gatewayOf(bytes.length + 10, bytes), path.join(d, 'e.zip'), { clock: systemClock }).catch(e => e)
    expect(error.message).toBe(`the download ended after ${bytes.length} of ${bytes.length + 10} bytes`)
    expect(readdirSync(d)).toEqual([])
  })

  it('removes the partial file when the connection breaks mid-stream', async () => {
    const d = dir()
    const broken = new Readable({
      read() {
        this.push(Buffer.alloc(64 * 1024, 1))
        this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      }
    })
    const error = await saveZip(gatewayBody(broken, undefined), path.join(d, 'e.zip'), { clock: systemClock }).catch(e => e)
    expect(error.message).toMatch(/socket hang up/)
    expect(readdirSync(d)).toEqual([])
  })
})

describe('extracting', () => {
  it('unpacks every entry into the target folder', async () => {
    const d = dir()
    const zip = path.join(d, 'e.zip')
    await saveZip(gatewayOf(undefined, await makeZip({ 'contents.json': '{}', 'tree/projectTree.xml': '<tree/>', 'empty/': '' })), zip, { clock: systemClock })
    expect(await extractZip(zip, path.join(d, 'x'))).toBe(3)
    expect(readFileSync(path.join(d, 'x/tree/projectTree.xml'), 'utf8')).toBe('<tree/>')
    expect(lstatSync(path.join(d, 'x/empty')).isDirectory()).toBe(true)
  })

  it('refuses an entry whose path leaves the folder, naming it', async () => {
    const d = dir()
    const zip = path.join(d, 'e.zip')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(zip, patch(await makeZip({ 'aa/evil.sh': 'rm -rf /' }), 'aa/evil', '../evil'))
    const error = await extractZip(zip, path.join(d, 'x')).catch(e => e)
    expect(error).toBeInstanceOf(InvalidZipError)
    expect(error.message).toMatch(/\.\.\/evil\.sh/)
    expect(existsSync(path.join(d, 'evil.sh'))).toBe(false)
  })

  it('refuses a symbolic link, naming it', async () => {
    const d = dir()
    const zip = path.join(d, 'e.zip')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(zip, await makeZip({ 'link': { data: '/etc/passwd', mode: 0o120777 } }))
    const error = await extractZip(zip, path.join(d, 'x')).catch(e => e)
    expect(error.message).toBe('refusing to extract "link": it is a symbolic link')
  })

  it('refuses a ZIP that holds the same file twice, naming it, in the download check and before anything is extracted', async () => {
    const d = dir()
    const zip = path.join(d, 'e.zip')
    const { writeFileSync } = await import('node:fs')
    const entry = (name: string, data: string) => ({ name, data: Buffer.from(data) })
    writeFileSync(zip, zipBuffer([entry('a/first.txt', 'one'), entry('tree/block.awl', 'old'), entry('tree/block.awl', 'new')]))
    // The download check refuses it already: its manifest could not describe it.
    await expect(checkZipFile(zip)).rejects.toThrow('refusing the ZIP: it holds "tree/block.awl" twice, and one name can be one file only')
    const error = await extractZip(zip, path.join(d, 'x')).catch(e => e)
    expect(error).toBeInstanceOf(InvalidZipError)
    expect(error.message).toBe('refusing to extract "tree/block.awl": the ZIP holds it twice, and the second copy would overwrite the first')
    expect(existsSync(path.join(d, 'x'))).toBe(false)
  })

  it('takes two different names of one length that share a CRC-32, checked and extracted', async () => {
    // Found among 214,877 names of one pattern: equal CRC-32s, and so (CRC-32 being affine) equal
    // CRC-32s from any other seed, or after any common prefix such as the extraction folder.
    const [one, other] = ['plant/line-07uo6uj.s7p', 'plant/line-0kixxzh.s7p']
    expect(crc32(one)).toBe(crc32(other))
    const d = dir()
    const zip = path.join(d, 'e.zip')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(zip, zipBuffer([one, other].map(name => ({ name, data: Buffer.from(`${name}\n`.repeat(20)) }))))
    const report = await checkZipFile(zip)
    expect(report.entries.map(e => e.name)).toEqual([one, other])
    await extractZip(zip, path.join(d, 'x'))
    expect(readFileSync(path.join(d, 'x', other), 'utf8')).toBe(`${other}\n`.repeat(20))
  })

  it('stops a ZIP bomb at the size and entry limits', async () => {
    const d = dir()
    const zip = path.join(d, 'e.zip')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(zip, await makeZip({ 'a.bin': '0'.repeat(1_000_000), 'b.bin': '0'.repeat(10) }))
    expect(statSize(zip)).toBeLessThan(5_000)
    await expect(extractZip(zip, path.join(d, 'x'), { limits: { maxEntries: 10, maxTotalBytes: 100_000 } })).rejects.toThrow(
      'refusing to extract: more than 100000 bytes uncompressed'
    )
    await expect(extractZip(zip, path.join(d, 'y'), { limits: { maxEntries: 1, maxTotalBytes: 10_000_000 } })).rejects.toThrow(
      'refusing to extract: more than 1 entries'
    )
  })

  it('inspects without extracting', async () => {
    const d = dir()
    const zip = path.join(d, 'e.zip')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(zip, await makeZip({ 'contents.json': 'not json' }))
    expect((await checkZipFile(zip)).contentsJson).toBe('not json')
  })
})

function statSize(f: string): number {
  return lstatSync(f).size
}
