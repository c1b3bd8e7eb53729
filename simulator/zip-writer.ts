// A small, fast ZIP writer for exports of many entries (tests and the benchmark): yazl spends ~150 µs
// an entry on its streams, which makes a 70,000-entry ZIP take a minute to build. This one writes
// the forms a real server's writer produces: deflated entries with data descriptors after the data
// (as Go's archive/zip writes them), or sizes in the local header; ZIP64 end records past 65,535
// entries. Bytes come out as a sequence of buffers, to a file or to memory.
import { crc32, deflateRawSync } from 'node:zlib'

export interface ManyEntry {
  name: string
  data: Buffer
  /** Deflate it (default) or store it. */
  deflate?: boolean
  /** The deflated bytes as they are to be written (a test's crafted stream): `data` is then only
   *  what the ZIP says they inflate to (its CRC-32 and size). */
  deflated?: Buffer
}

export interface ManyOptions {
  /** Sizes and CRC after the data, in a data descriptor: for every entry (true), none (false), or
   *  deflated ones (the default). 'unsigned': for every entry, without the optional signature. */
  descriptors?: boolean | 'unsigned'
}

/** The ZIP's bytes, piece by piece. */
export function* zipPieces(entries: Iterable<ManyEntry>, o: ManyOptions = {}): Generator<Buffer> {
  const central: Buffer[] = []
  let offset = 0
  let count = 0
  for (const e of entries) {
    const deflate = e.deflate ?? true
    const body = deflate ? (e.deflated ?? deflateRawSync(e.data)) : e.data
    const crc = crc32(e.data)
    const descriptor = o.descriptors === undefined ? deflate : o.descriptors !== false
    const name = Buffer.from(e.name)
    const flags = 0x800 | (descriptor ? 0x8 : 0)
    const method = deflate ? 8 : 0
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(flags, 6)
    local.writeUInt16LE(method, 8)
    local.writeUInt32LE(0x21, 10) // 1980-01-01 00:00
    local.writeUInt32LE(descriptor ? 0 : crc, 14)
    local.writeUInt32LE(descriptor ? 0 : body.length, 18)
    local.writeUInt32LE(descriptor ? 0 : e.data.length, 22)
    local.writeUInt16LE(name.length, 26)
    yield local
    yield name
    yield body
    let length = 30 + name.length + body.length
    if (descriptor) {
      const d = Buffer.alloc(16)
      d.writeUInt32LE(0x08074b50, 0)
      d.writeUInt32LE(crc, 4)
      d.writeUInt32LE(body.length, 8)
      d.writeUInt32LE(e.data.length, 12)
      const written = o.descriptors === 'unsigned' ? d.subarray(4) : d
      yield written
      length += written.length
    }
    const c = Buffer.alloc(46 + name.length)
    c.writeUInt32LE(0x02014b50, 0)
    c.writeUInt16LE(0x0314, 4) // made on Unix, version 2.0
    c.writeUInt16LE(20, 6)
    c.writeUInt16LE(flags, 8)
    c.writeUInt16LE(method, 10)
    c.writeUInt32LE(0x21, 12)
    c.writeUInt32LE(crc, 16)
    c.writeUInt32LE(body.length, 20)
    c.writeUInt32LE(e.data.length, 24)
    c.writeUInt16LE(name.length, 28)
    c.writeUInt32LE((0o100644 << 16) >>> 0, 38)
    c.writeUInt32LE(offset, 42)
    name.copy(c, 46)
    central.push(c)
    offset += length
    count++
    if (offset >= 0xffffffff) throw new Error('zipPieces writes ZIPs under 4 GiB')
  }
  const centralOffset = offset
  let centralSize = 0
  for (const c of central) {
    centralSize += c.length
    yield c
  }
  if (count > 0xfffe) {
    const z = Buffer.alloc(56 + 20)
    z.writeUInt32LE(0x06064b50, 0)
    z.writeUInt32LE(44, 4) // size of the rest of the record (64-bit, high word 0)
    z.writeUInt16LE(45, 12)
    z.writeUInt16LE(45, 14)
    z.writeUInt32LE(count, 24)
    z.writeUInt32LE(count, 32)
    z.writeUInt32LE(centralSize, 40)
    z.writeUInt32LE(centralOffset, 48)
    z.writeUInt32LE(0x07064b50, 56)
    z.writeUInt32LE(centralOffset + centralSize, 64)
    z.writeUInt32LE(1, 72)
    yield z
  }
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(Math.min(count, 0xffff), 8)
  end.writeUInt16LE(Math.min(count, 0xffff), 10)
  end.writeUInt32LE(centralSize, 12)
  end.writeUInt32LE(count > 0xfffe ? 0xffffffff : centralOffset, 16)
  yield end
}

/** The whole ZIP in memory (tests). */
export function zipBuffer(entries: Iterable<ManyEntry>, o: ManyOptions = {}): Buffer {
  return Buffer.concat([...zipPieces(entries, o)])
}

/** A project tree of `count` small text files in nested folders, like an export with versions:
 *  projectTree/Plant N/Line N/Device N/vN/block-N.awl, 100–900 bytes each, deterministic. */
export function* projectTree(count: number): Generator<ManyEntry> {
  yield { name: 'contents.json', data: Buffer.from(JSON.stringify({ orderName: 'bench', files: ['projectTree'] })) }
  for (let i = 0; i < count - 1; i++) {
    const device = Math.floor(i / 20)
    const name = `projectTree/Plant ${device % 3}/Line ${device % 17}/Device ${device}/v${i % 20}/block-${i}.awl`
    const lines = 4 + ((i * 7919) % 30)
    let text = `// ${name}\n`
    for (let l = 0; l < lines; l++) text += `  A I ${l}.${i % 8}\n  = Q ${(l * 31 + i) % 128}.${l % 8}\n`
    yield { name, data: Buffer.from(text) }
  }
}
