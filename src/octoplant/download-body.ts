// How grpc-gateway frames the download: a stream of HttpBody messages, each followed by the
// marshaler's delimiter ("\n" by default), and an error after the 200 header written as
// {"error": {…}} + delimiter. The ZIP's own bytes pass through untouched; delimiter bytes at the very
// end are held back (trailer), since only the ZIP check knows whether they belong to the ZIP (a
// comment may end in a line break) or follow it.
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream'
import { untrusted } from '../base/untrusted.js'
import { grpcCodeName } from '../../protocol/protocol.js'
import { rpcStatusOf } from './request.js'

export interface GatewayBody {
  /** The body's bytes, less the delimiter bytes at its very end. */
  body: Readable
  contentLength?: number
  /** The delimiter bytes held back at the end; all of them once `body` has ended. */
  trailer(): Buffer
}

/** Most delimiter bytes held back at a time ("\r\n" after each of a few empty messages). */
const MAX_HELD = 64
const isDelimiterByte = (b: number) => b === 0x0a || b === 0x0d

export function gatewayBody(response: Readable, contentLength?: number): GatewayBody {
  const holder = new TrailerHold()
  // pipeline: an error of the response reaches the reader, and a reader that stops ends the response.
  const body = pipeline(response, holder, () => {})
  return { body, contentLength, trailer: () => holder.held }
}

/** Passes bytes on, holding back the delimiter-like bytes at the end of what arrived so far. */
class TrailerHold extends Transform {
  held = Buffer.alloc(0)

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let cut = chunk.length
    while (cut > 0 && isDelimiterByte(chunk[cut - 1])) cut--
    if (cut === 0 && this.held.length + chunk.length <= MAX_HELD) {
      this.held = Buffer.concat([this.held, chunk])
      return done()
    }
    if (this.held.length) this.push(this.held)
    this.held = Buffer.alloc(0)
    if (cut === 0) {
      this.push(chunk)
    } else {
      this.push(cut === chunk.length ? chunk : chunk.subarray(0, cut))
      if (cut < chunk.length) this.held = Buffer.from(chunk.subarray(cut))
    }
    done()
  }
}

/** The stream error at the end of a download, as a sentence, when the body's last bytes (`tail`,
 *  which began `tailOffset` bytes into the body) end in one; undefined when they end otherwise. */
export function streamErrorAtEnd(tail: Buffer, tailOffset: number): string | undefined {
  const text = tail.toString('latin1').trimEnd()
  if (!text.endsWith('}')) return undefined
  for (let at = text.lastIndexOf('{'); at >= 0; at = text.lastIndexOf('{', at - 1)) {
    if (!/^\{\s*"error"\s*:/.test(text.slice(at))) continue
    try {
      const status = rpcStatusOf(JSON.parse(Buffer.from(text.slice(at), 'latin1').toString('utf8')))
      if (!status) return undefined
      return `the server broke off the download after ${tailOffset + at} bytes with a stream error: ${grpcCodeName(status.code)}: ${status.message ? untrusted(status.message) : '(no message)'}`
    } catch {
      continue
    }
  }
  return undefined
}

/** How many bytes of a body's end streamErrorAtEnd needs to see. */
export const STREAM_ERROR_TAIL = 16 * 1024
