// ZIPs for tests, made with yazl (the simulator's writer), plus crafted broken ones.
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import yazl from 'yazl'
import { type GatewayBody, gatewayBody } from '../src/octoplant/download-body.js'
import { ZipCheck, type ZipReport } from '../src/engine/zip/check.js'

export async function makeZip(entries: Record<string, string | { data: string; mode?: number }>, compress = true): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  for (const [name, v] of Object.entries(entries)) {
    if (name.endsWith('/')) {
      zip.addEmptyDirectory(name)
      continue
    }
    const { data, mode } = typeof v === 'string' ? { data: v, mode: undefined } : v
    zip.addBuffer(Buffer.from(data), name, { compress, ...(mode ? { mode } : {}) })
  }
  zip.end()
  return buffer(zip.outputStream as unknown as Readable)
}

/** Replaces every occurrence of a same-length byte string (e.g. to rename an entry to "../x"). */
export function patch(zip: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('same length only')
  const out = Buffer.from(zip)
  let at = out.indexOf(from)
  while (at >= 0) {
    out.write(to, at)
    at = out.indexOf(from, at + 1)
  }
  return out
}

export function streamOf(...chunks: Buffer[]): Readable {
  return Readable.from(chunks)
}

/** A download body as the octoplant client hands it over: the gateway's framing around the chunks. */
export function gatewayOf(contentLength: number | undefined, ...chunks: Buffer[]): GatewayBody {
  return gatewayBody(streamOf(...chunks), contentLength)
}

/** Checks a ZIP file on disk as the download check does: every CRC, the central directory, a report. */
export async function checkZipFile(file: string): Promise<ZipReport> {
  const check = new ZipCheck()
  for await (const chunk of createReadStream(file)) await check.write(chunk as Buffer)
  return check.finish(file)
}
