// The ZIP an order downloads: contents.json plus one file per requested kind, streamed by yazl as
// it is sent (never held in memory). An optional payload entry of N pseudo-random bytes makes
// exports of any size for the benchmark. The exact shape of octoplant's contents.json is not
// documented; this one is the simulator's own (the action only shows it).
import { Readable } from 'node:stream'
import yazl from 'yazl'

export interface ExportZipOptions {
  orderName: string
  createdAt: Date
  exportContents: Record<string, Record<string, unknown>>
  /** Size of an extra `payload.bin` entry; 0 for none. */
  payloadBytes?: number
  /** Deflate the entries (as a real export would) or store them (sizes known in advance). */
  compress?: boolean
}

/** JSON (the default) or XML for the tree-like kinds, CSV (the default) or JSON for the lists. */
const XML_KINDS = new Set(['projectTree', 'componentTypes', 'userManagement'])

export function fileNameOf(kind: string, options: Record<string, unknown>): string {
  const type = String(options.exportType ?? '')
  const ext =
    kind === 'usageInformation'
      ? 'json'
      : XML_KINDS.has(kind)
        ? type.endsWith('_XML') ? 'xml' : 'json'
        : type.endsWith('_JSON') ? 'json' : 'csv'
  return `${kind}.${ext}`
}

function bodyOf(kind: string, file: string, orderName: string): string {
  if (file.endsWith('.json')) {
    return JSON.stringify({ export: kind, order: orderName, items: [{ id: '7f1d2c1e-0000-4000-8000-000000000001', name: 'Line 1/PLC S7-1500', status: 'ok' }] }, null, 2)
  }
  if (file.endsWith('.xml')) {
    return `<?xml version="1.0" encoding="utf-8"?>\n<${kind} order="${orderName}"><component id="7f1d2c1e-0000-4000-8000-000000000001" name="Line 1/PLC S7-1500"/></${kind}>\n`
  }
  return `id;name;status\n7f1d2c1e-0000-4000-8000-000000000001;Line 1/PLC S7-1500;ok\n`
}

/** Deterministic bytes (xorshift32), so the same order always downloads the same ZIP. */
export function payloadStream(size: number, seed = 0x9e3779b9): Readable {
  let left = size
  let x = seed >>> 0 || 1
  const CHUNK = 256 * 1024
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (left <= 0) return void this.push(null)
      const n = Math.min(CHUNK, left)
      const buf = Buffer.allocUnsafe(n)
      let i = 0
      for (; i + 4 <= n; i += 4) {
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        buf.writeUInt32LE(x >>> 0, i)
      }
      for (; i < n; i++) buf[i] = i & 0xff
      left -= n
      this.push(buf)
    }
  })
}

/** The ZIP as a stream, and its total size when it is known in advance (stored entries). */
export function exportZip(o: ExportZipOptions): { stream: Readable; size: Promise<number | undefined> } {
  const zip = new yazl.ZipFile()
  const compress = o.compress ?? true
  const mtime = o.createdAt
  const files = Object.entries(o.exportContents).map(([kind, options]) => ({ kind, file: fileNameOf(kind, options) }))
  const contents = {
    orderName: o.orderName,
    created: o.createdAt.toISOString(),
    exportContents: o.exportContents,
    files: files.map(f => f.file)
  }
  zip.addBuffer(Buffer.from(JSON.stringify(contents, null, 2)), 'contents.json', { mtime, compress })
  for (const { kind, file } of files) zip.addBuffer(Buffer.from(bodyOf(kind, file, o.orderName)), file, { mtime, compress })
  if (o.payloadBytes) zip.addReadStream(payloadStream(o.payloadBytes), 'payload.bin', { mtime, compress, size: o.payloadBytes })
  const size = new Promise<number | undefined>(resolve => {
    // yazl passes the total size (or -1) to this callback; its type declaration omits the argument.
    const end = zip.end.bind(zip) as (options: object, callback: (total: number) => void) => void
    end({}, total => resolve(total >= 0 ? total : undefined))
  })
  return { stream: zip.outputStream as unknown as Readable, size }
}
