// Scripted faults of plant networks and busy servers, switched on per test with sim.intercept().
// Each takes over the first `times` matching requests, then lets the simulator answer as usual.
import { buffer } from 'node:stream/consumers'
import type { Readable } from 'node:stream'
import { GrpcCode } from '../protocol/protocol.js'
import { type Interceptor, sendJson } from './server.js'

const CODE_OF_STATUS: Record<number, number> = {
  429: GrpcCode.RESOURCE_EXHAUSTED,
  500: GrpcCode.INTERNAL,
  502: GrpcCode.UNAVAILABLE,
  503: GrpcCode.UNAVAILABLE,
  504: GrpcCode.DEADLINE_EXCEEDED
}

/** Runs `fault` for the first `times` requests of `route`. */
function firstOf(route: string, times: number, fault: Interceptor): Interceptor {
  let left = times
  return async (req, res, r, ctx) => {
    if (r !== route || left <= 0) return false
    left--
    await fault(req, res, r, ctx)
    return true
  }
}

/** Answers with these statuses in turn (google.rpc.Status bodies), e.g. [503, 503]. */
export function statuses(route: string, sequence: number[], o: { retryAfter?: string; code?: number; message?: string } = {}): Interceptor {
  let i = 0
  return firstOf(route, sequence.length, (_req, res) => {
    const status = sequence[i++]
    if (o.retryAfter) res.setHeader('retry-after', o.retryAfter)
    sendJson(res, status, { code: o.code ?? CODE_OF_STATUS[status] ?? GrpcCode.UNKNOWN, message: o.message ?? `simulated ${status}`, details: [] })
    return true
  })
}

/** A reverse proxy's HTML error page. */
export function htmlPage(route: string, times: number, status = 502): Interceptor {
  return firstOf(route, times, (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/html' })
    res.end(`<html><head><title>${status} Bad Gateway</title></head><body><center>nginx</center></body></html>`)
    return true
  })
}

/** Drops the connection: before reading the request, or after reading it (the server may have acted). */
export function resetConnection(route: string, times: number, o: { afterBody?: boolean } = {}): Interceptor {
  return firstOf(route, times, async (req, _res) => {
    if (o.afterBody) await buffer(req)
    req.socket.destroy()
    return true
  })
}

/** Sends the first `bytes` of the download (framed as the simulator frames it), then drops the connection. */
export function truncatedDownload(times: number, bytes: number): Interceptor {
  return firstOf('GET /v1/order/{name}/download', times, async (_req, res, _r, ctx) => {
    ctx.sendDownload(res, await buffer(ctx.zipOf(ctx.order!).stream as Readable), { cutAfter: bytes })
    return true
  })
}

/** The whole ZIP, then a stream error as grpc-gateway writes one after the 200 header:
 *  {"error": {code, message, details}} and the delimiter. */
export function errorAfterZip(times: number, error = { code: GrpcCode.INTERNAL, message: 'stream terminated' }): Interceptor {
  return firstOf('GET /v1/order/{name}/download', times, async (_req, res, _r, ctx) => {
    ctx.sendDownload(res, await buffer(ctx.zipOf(ctx.order!).stream as Readable), { streamError: error })
    return true
  })
}

/** One byte of the ZIP flipped: the CRC check must catch it. */
export function corruptDownload(times: number): Interceptor {
  return firstOf('GET /v1/order/{name}/download', times, async (_req, res, _r, ctx) => {
    const whole = Buffer.from(await buffer(ctx.zipOf(ctx.order!).stream as Readable))
    const at = whole.indexOf('contents.json') + 40
    whole[at] ^= 0xff
    ctx.sendDownload(res, whole)
    return true
  })
}
