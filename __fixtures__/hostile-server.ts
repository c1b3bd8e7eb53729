// A hostile octoplant server for tests, apart from the simulator (which is faithful): it speaks just
// enough of the Export API to get a run to each place where its text or names could steer the
// runner, and answers there with what a test gives it. Plain HTTP on 127.0.0.1 (loopback), stopped
// by stop().
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Hostility {
  /** The name the server gives the order. */
  orderName?: string
  /** metadata.state and currentSubProcess of every answer about the order. */
  state?: string
  currentSubProcess?: string
  /** The order fails with this error message. */
  orderError?: string
  /** The token endpoint refuses with this message (400 INVALID_ARGUMENT). */
  signInRefusal?: (form: URLSearchParams) => string
  /** The export's bytes. */
  zip?: Buffer
  apiVersion?: string
}

export interface HostileServer {
  url: string
  /** "METHOD path" of every request. */
  requests: string[]
  stop(): Promise<void>
}

export async function startHostileServer(h: Hostility): Promise<HostileServer> {
  const requests: string[] = []
  const name = h.orderName ?? 'order-1'
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }
  const operation = () => ({
    name,
    done: true,
    metadata: { name, state: h.state ?? (h.orderError ? 'STATE_FAILED' : 'STATE_SUCCEEDED'), currentSubProcess: h.currentSubProcess ?? '', systemId: 'S', licenseSerialNumber: 'L' },
    ...(h.orderError ? { error: { code: 13, message: h.orderError } } : { response: { name } })
  })
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c))
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname
      requests.push(`${req.method} ${path}`)
      if (path === '/v1/oauth2/token') {
        const form = new URLSearchParams(body)
        if (h.signInRefusal) return send(res, 400, { code: 3, message: h.signInRefusal(form), details: [] })
        return send(res, 200, { access_token: 'session-token-from-hostile-server', token_type: 'Bearer' })
      }
      if (path === '/v1/status/api_version' && h.apiVersion) return send(res, 200, { version: h.apiVersion })
      if (path.startsWith('/v1/status/')) return send(res, 404, { code: 5, message: 'Not Found', details: [] })
      if (path === '/v1/order' && req.method === 'POST') return send(res, 200, { ...operation(), done: false, metadata: { ...operation().metadata, state: 'STATE_RUNNING' } })
      if (path.endsWith('/cancel')) return send(res, 200, {})
      if (path.endsWith('/download')) {
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': h.zip?.length ?? 0 })
        return res.end(h.zip)
      }
      if (path.startsWith('/v1/order/')) return send(res, 200, operation())
      send(res, 404, { code: 5, message: 'Not Found', details: [] })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
