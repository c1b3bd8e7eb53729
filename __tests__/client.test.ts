// The octoplant client against the simulator, over real HTTPS with a CA the simulator made.
import * as tls from 'node:tls'
import { buffer } from 'node:stream/consumers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator, sendJson, type Simulator } from '../simulator/server.js'
import { createCertificateAuthority, issueServerCertificate } from '../simulator/certs.js'
import { AuthenticationError, OctoplantClient } from '../src/octoplant/client.js'
import { PUBLIC_CLIENT_ID, PUBLIC_CLIENT_SECRET } from '../src/octoplant/protocol.js'
import { createTransport, NetworkError, OctoplantError } from '../src/octoplant/request.js'

let sim: Simulator
const defaultCAs = tls.getCACertificates('default')

beforeAll(async () => {
  sim = await startSimulator({ pendingMs: 100, runningMs: 300 })
  tls.setDefaultCACertificates([...defaultCAs, sim.caPem!])
})
afterAll(async () => {
  tls.setDefaultCACertificates(defaultCAs)
  await sim?.stop()
})

function clientFor(url: string, password = 'change-it', onSecret?: (s: string) => void) {
  const transport = createTransport({ baseUrl: url })
  const client = new OctoplantClient({
    transport,
    credentials: { username: 'versiondog', password, clientId: PUBLIC_CLIENT_ID, clientSecret: PUBLIC_CLIENT_SECRET },
    onSecret
  })
  return { client, transport }
}

async function untilDone(client: OctoplantClient, name: string) {
  for (;;) {
    const op = await client.getOrder(name)
    if (op.done) return op
    await new Promise(r => setTimeout(r, 50))
  }
}

describe('the octoplant client over HTTPS', () => {
  it('signs in, orders, polls to success and downloads the ZIP', async () => {
    const secrets: string[] = []
    const { client, transport } = clientFor(sim.url, 'change-it', s => secrets.push(s))
    await client.authenticate()
    expect(secrets).toHaveLength(1)
    const placed = await client.placeOrder({ projectTree: {}, eventLog: { exportType: 'EXPORT_TYPE_JSON' } })
    expect(placed.metadata?.state).toBe('STATE_PENDING')
    expect(placed.done).toBe(false)
    const done = await untilDone(client, placed.name!)
    expect(done.metadata).toMatchObject({ state: 'STATE_SUCCEEDED', finishedSubProcesses: '4', openSubProcesses: '0' })
    expect(done.response).toEqual({ name: placed.name })
    const { body } = await client.download(placed.name!)
    const zip = await buffer(body)
    expect(zip.subarray(0, 4).toString('hex')).toBe('504b0304')
    expect(zip.includes('eventLog.json')).toBe(true)
    expect(transport.counts.get('POST /v1/oauth2/token')).toBe(1)
    transport.close()
  })

  it('reports a refused password plainly, after one attempt', async () => {
    const before = sim.count('POST /v1/oauth2/token')
    const { client, transport } = clientFor(sim.url, 'wrong')
    const error = await client.authenticate().catch(e => e)
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(error.message).toMatch(/^octoplant refused to sign in user "versiondog" \(UNAUTHENTICATED \(HTTP 401\): invalid username or password\)\. Check the username and password/)
    expect(error.message).not.toContain('wrong')
    expect(sim.count('POST /v1/oauth2/token') - before).toBe(1)
    transport.close()
  })

  it('cancels an order, which then ends failed with CANCELLED', async () => {
    const { client, transport } = clientFor(sim.url)
    const placed = await client.placeOrder({ jobList: {} })
    await client.cancelOrder(placed.name!)
    const op = await client.getOrder(placed.name!)
    expect(op).toMatchObject({ done: true, metadata: { state: 'STATE_FAILED' }, error: { code: 1 } })
    transport.close()
  })

  it('decodes a gRPC error: a download before the export succeeded is FAILED_PRECONDITION', async () => {
    const { client, transport } = clientFor(sim.url)
    const placed = await client.placeOrder({ jobList: {} })
    const error = await client.download(placed.name!).catch(e => e)
    expect(error).toBeInstanceOf(OctoplantError)
    expect(error).toMatchObject({ httpStatus: 400, grpcCode: 9 })
    expect(error.message).toMatch(/^GET \/v1\/order\/[\w-]+\/download failed: FAILED_PRECONDITION \(HTTP 400\): order .* is STATE_PENDING/)
    transport.close()
  })

  it('signs in again once when the token has expired', async () => {
    const short = await startSimulator({ tokenLifetimeSec: 0.2 })
    tls.setDefaultCACertificates([...defaultCAs, sim.caPem!, short.caPem!])
    const { client, transport } = clientFor(short.url)
    const placed = await client.placeOrder({ jobList: {} })
    await new Promise(r => setTimeout(r, 300))
    expect((await client.getOrder(placed.name!)).name).toBe(placed.name)
    expect(short.count('POST /v1/oauth2/token')).toBe(2)
    expect(short.requests.map(r => r.status)).toEqual([200, 200, 401, 200, 200])
    transport.close()
    await short.stop()
  })

  it("says so when a proxy's HTML page stands where JSON was expected", async () => {
    const proxied = await startSimulator()
    tls.setDefaultCACertificates([...defaultCAs, sim.caPem!, proxied.caPem!])
    proxied.intercept((_req, res, route) => {
      if (route !== 'POST /v1/order') return false
      res.writeHead(502, { 'content-type': 'text/html' })
      res.end('<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>')
      return true
    })
    const { client, transport } = clientFor(proxied.url)
    const error = await client.placeOrder({ jobList: {} }).catch(e => e)
    expect(error.message).toBe(
      'POST /v1/order failed: HTTP 502 with an HTML page ("502 Bad Gateway") (text/html), likely from a proxy or web server in front of octoplant'
    )
    transport.close()
    await proxied.stop()
  })

  it('reads the nested error of older gateways and streamed answers', async () => {
    const older = await startSimulator()
    tls.setDefaultCACertificates([...defaultCAs, sim.caPem!, older.caPem!])
    older.intercept((_req, res, route) => {
      if (route !== 'GET /v1/order/{name}') return false
      sendJson(res, 503, { error: { code: 14, message: 'backend restarting', details: [] } })
      return true
    })
    const { client, transport } = clientFor(older.url)
    const error = await client.getOrder('x').catch(e => e)
    expect(error.message).toBe('GET /v1/order/x failed: UNAVAILABLE (HTTP 503): backend restarting')
    transport.close()
    await older.stop()
  })

  it('explains an untrusted certificate and names the input that fixes it', async () => {
    const stranger = await startSimulator({ certificate: await issueServerCertificate(await createCertificateAuthority('Plant CA')) })
    const { client, transport } = clientFor(stranger.url)
    const error = await client.authenticate().catch(e => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect(error.message).toMatch(/^TLS check of 127\.0\.0\.1:\d+ failed: the server's certificate is signed by an unknown CA \[UNABLE_TO_VERIFY_LEAF_SIGNATURE\]; trust the plant's CA with the ca-certificate input/)
    expect(stranger.requests).toHaveLength(0)
    transport.close()
    await stranger.stop()
  })

  it('says plainly when nothing listens at server-url', async () => {
    const { client, transport } = clientFor('https://127.0.0.1:9')
    const error = await client.authenticate().catch(e => e)
    expect(error.message).toBe('could not reach 127.0.0.1:9: the connection was refused (is the octoplant API service running and the port right?) [ECONNREFUSED]')
    transport.close()
  })
})

describe('the simulator, as the documents describe the server', () => {
  it('answers a poll of an unknown order with STATE_UNSPECIFIED', async () => {
    const { client, transport } = clientFor(sim.url)
    expect(await client.getOrder('no-such-order')).toEqual({ name: 'no-such-order', metadata: { state: 'STATE_UNSPECIFIED' }, done: false })
    transport.close()
  })

  it('ignores unknown exportContents keys, but refuses a bad enum value with INVALID_ARGUMENT', async () => {
    const { client, transport } = clientFor(sim.url)
    const placed = await client.placeOrder({ projectTre: {} } as never)
    expect(sim.orders.get(placed.name!)?.exportContents).toEqual({})
    const error = await client.placeOrder({ jobList: { exportType: 'CSV' } }).catch(e => e)
    expect(error).toMatchObject({ httpStatus: 400, grpcCode: 3 })
    transport.close()
  })

  it('refuses requests without a token with UNAUTHENTICATED (401)', async () => {
    const transport = createTransport({ baseUrl: sim.url })
    const error = await transport.json({ method: 'GET', path: '/v1/order/x' }).catch(e => e)
    expect(error).toMatchObject({ httpStatus: 401, grpcCode: 16 })
    transport.close()
  })
})
