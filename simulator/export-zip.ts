// The ZIP an order downloads: contents.json plus one file per requested kind, streamed by yazl as
// it is sent (never held in memory). An optional payload entry of N pseudo-random bytes makes
// exports of any size for the benchmark. The exact shape of octoplant's contents.json is not
// documented; this one is the simulator's own (the action only shows it).
import { Readable } from 'node:stream'
import yazl from 'yazl'
import { DEFAULT_JOBS, isUnequal, jobResultsCsv, jobResultsJson, type SimulatedJob } from './job-results.js'

export interface ExportZipOptions {
  orderName: string
  createdAt: Date
  exportContents: Record<string, Record<string, unknown>>
  /** Size of an extra `payload.bin` entry; 0 for none. */
  payloadBytes?: number
  /** Deflate the entries (as a real export would) or store them (sizes known in advance). */
  compress?: boolean
  /** The jobs the job results exports list (default DEFAULT_JOBS). */
  jobs?: SimulatedJob[]
  /** The project tree's revision: 0, or a later one with a file added, one removed, one changed. */
  treeRevision?: number
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

function bodyOf(kind: string, file: string, o: ExportZipOptions): string {
  if (kind === 'jobResults' || kind === 'unequalJobResults') {
    const jobs = (o.jobs ?? DEFAULT_JOBS).filter(j => kind === 'jobResults' || isUnequal(j))
    const separator = o.exportContents[kind]?.csvSeparator
    return file.endsWith('.json') ? jobResultsJson(jobs) : jobResultsCsv(jobs, typeof separator === 'string' && separator ? separator : ';')
  }
  if (file.endsWith('.json')) {
    // The order's name only in contents.json: the files describe the plant, not the order.
    return JSON.stringify({ export: kind, items: [{ id: '7f1d2c1e-0000-4000-8000-000000000001', name: 'Line 1/PLC S7-1500', status: 'ok' }] }, null, 2)
  }
  if (file.endsWith('.xml')) {
    return `<?xml version="1.0" encoding="utf-8"?>\n<${kind}><component id="7f1d2c1e-0000-4000-8000-000000000001" name="Line 1/PLC S7-1500"/></${kind}>\n`
  }
  return `id;name;status\n7f1d2c1e-0000-4000-8000-000000000001;Line 1/PLC S7-1500;ok\n`
}

/** The component files of a project tree export, by revision: revision 1 and later change one
 *  file, remove one and add one. Names with spaces and non-ASCII letters, and an empty file, as a
 *  plant's tree has them. OUR ASSUMPTION: the vendor does not document the export's layout. */
export function projectFiles(revision: number): [string, string][] {
  const files: [string, string][] = [
    ['projectTree/Plant/Line 1/PLC S7-1500/Program.awl', revision === 0 ? 'ORGANIZATION_BLOCK OB1\n  CALL FC1\nEND_ORGANIZATION_BLOCK\n' : `ORGANIZATION_BLOCK OB1\n  CALL FC1\n  CALL FC2 // revision ${revision}\nEND_ORGANIZATION_BLOCK\n`],
    ['projectTree/Plant/Line 1/PLC S7-1500/Hardware.cfg', 'CPU 1516-3 PN/DP\nIP 192.0.2.10\n'],
    ['projectTree/Plant/Line 1/PLC S7-1500/Notes.txt', ''],
    ['projectTree/Plant/Line 1/HMI TP1200/Screens.xml', '<screens><screen name="Overview; Alarms"/></screens>\n'],
    ['projectTree/Plant/Line 2/Antrieb Süd G120/Parameter.txt', 'P0304=400\nP0305=12.5\n']
  ]
  if (revision === 0) files.push(['projectTree/Plant/Line 2/Antrieb Süd G120/Inbetriebnahme alt.txt', 'commissioned 2019\n'])
  else files.push(['projectTree/Plant/Line 3/PLC S7-1200/Program.awl', `ORGANIZATION_BLOCK OB1\nEND_ORGANIZATION_BLOCK // added in revision ${revision}\n`])
  return files
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
  for (const { kind, file } of files) zip.addBuffer(Buffer.from(bodyOf(kind, file, o)), file, { mtime, compress })
  if ('projectTree' in o.exportContents) {
    for (const [name, text] of projectFiles(o.treeRevision ?? 0)) zip.addBuffer(Buffer.from(text), name, { mtime, compress })
  }
  if (o.payloadBytes) zip.addReadStream(payloadStream(o.payloadBytes), 'payload.bin', { mtime, compress, size: o.payloadBytes })
  const size = new Promise<number | undefined>(resolve => {
    // yazl passes the total size (or -1) to this callback; its type declaration omits the argument.
    const end = zip.end.bind(zip) as (options: object, callback: (total: number) => void) => void
    end({}, total => resolve(total >= 0 ? total : undefined))
  })
  return { stream: zip.outputStream as unknown as Readable, size }
}
