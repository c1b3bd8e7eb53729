import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, lstatSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { makeZip, patch, streamOf } from '../__fixtures__/zips.js'
import { exportZip } from '../simulator/export-zip.js'
import { saveZip } from '../src/download.js'
import { extractZip, inspectZip, InvalidZipError } from '../src/zip.js'

const dir = () => mkdtempSync(path.join(tmpdir(), 'dl-'))
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('saving the download', () => {
  it('streams a ZIP to disk with its size and sha256, and lists its entries and contents.json', async () => {
    const bytes = await buffer(
      exportZip({ orderName: 'o1', createdAt: new Date(0), exportContents: { projectTree: {}, jobList: { exportType: 'EXPORT_TYPE_JSON' } }, payloadBytes: 3_000_000 }).stream
    )
    const file = path.join(dir(), 'out', 'export.zip')
    const saved = await saveZip(streamOf(bytes.subarray(0, 1000), bytes.subarray(1000)), file, bytes.length)
    expect(saved).toMatchObject({ path: file, size: bytes.length, sha256: sha256(bytes) })
    expect(readFileSync(file).equals(bytes)).toBe(true)
    expect(saved.report.entries.map(e => e.name)).toEqual(['contents.json', 'projectTree.json', 'jobList.json', 'payload.bin'])
    expect(saved.report.contentsJson).toMatchObject({ orderName: 'o1', files: ['projectTree.json', 'jobList.json'] })
    expect(readdirSync(path.dirname(file))).toEqual(['export.zip'])
  })

  it.each([
    ['an HTML page from a proxy', async () => Buffer.from('<html><title>502 Bad Gateway</title></html>'), /not a valid ZIP/],
    ['an empty body', async () => Buffer.alloc(0), /not a valid ZIP/],
    [
      'a ZIP with an error JSON appended after the 200 header',
      async () => Buffer.concat([await makeZip({ 'contents.json': '{}' }), Buffer.from('{"error":{"code":14,"message":"stream broken"}}')]),
      /not a valid ZIP.*extra bytes at the end/
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
    const error = await saveZip(streamOf(await body()), file, undefined).catch(e => e)
    expect(error).toBeInstanceOf(InvalidZipError)
    expect(error.message).toMatch(message)
    expect(readdirSync(d)).toEqual([])
  })

  it('refuses a body shorter than its Content-Length', async () => {
    const bytes = await makeZip({ 'a.txt': 'hello' })
    const d = dir()
    const error = await saveZip(streamOf(bytes), path.join(d, 'e.zip'), bytes.length + 10).catch(e => e)
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
    const error = await saveZip(broken, path.join(d, 'e.zip'), undefined).catch(e => e)
    expect(error.message).toMatch(/socket hang up/)
    expect(readdirSync(d)).toEqual([])
  })
})

describe('extracting', () => {
  it('unpacks every entry into the target folder', async () => {
    const d = dir()
    const zip = path.join(d, 'e.zip')
    await saveZip(streamOf(await makeZip({ 'contents.json': '{}', 'tree/projectTree.xml': '<tree/>', 'empty/': '' })), zip, undefined)
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

  it('stops a ZIP bomb at the size and entry limits', async () => {
    const d = dir()
    const zip = path.join(d, 'e.zip')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(zip, await makeZip({ 'a.bin': '0'.repeat(1_000_000), 'b.bin': '0'.repeat(10) }))
    expect(statSize(zip)).toBeLessThan(5_000)
    await expect(extractZip(zip, path.join(d, 'x'), { maxEntries: 10, maxTotalBytes: 100_000 })).rejects.toThrow(
      'refusing to extract: more than 100000 bytes uncompressed'
    )
    await expect(extractZip(zip, path.join(d, 'y'), { maxEntries: 1, maxTotalBytes: 10_000_000 })).rejects.toThrow(
      'refusing to extract: more than 1 entries'
    )
  })

  it('inspects without extracting', async () => {
    const d = dir()
    const zip = path.join(d, 'e.zip')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(zip, await makeZip({ 'contents.json': 'not json' }))
    expect((await inspectZip(zip)).contentsJson).toBe('not json')
  })
})

function statSize(f: string): number {
  return lstatSync(f).size
}
