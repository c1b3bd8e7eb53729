// A forward proxy that only tunnels (HTTP CONNECT), as corporate proxies do for HTTPS, and resolves
// host names of its own: a direct connection to such a name fails, so a test through it cannot pass
// by going around the proxy. Hand-written (some 30 lines) because the npm proxies cannot map names.
import * as http from 'node:http'
import * as net from 'node:net'
import type { AddressInfo } from 'node:net'

export interface ConnectProxy {
  url: string
  /** "host:port" of every CONNECT seen. */
  tunnels: string[]
  stop(): Promise<void>
}

export async function startConnectProxy(hosts: Record<string, string>): Promise<ConnectProxy> {
  const tunnels: string[] = []
  const sockets = new Set<net.Socket>()
  const server = http.createServer((_req, res) => {
    res.writeHead(405).end('CONNECT only')
  })
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client)
    const [host, port] = (req.url ?? '').split(':')
    tunnels.push(req.url ?? '')
    const target = hosts[host]
    if (!target) {
      client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n')
      return
    }
    const upstream = net.connect(Number(port), target, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    sockets.add(upstream)
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    stop: () =>
      new Promise<void>(resolve => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
