// The octoplant client against the simulator, over real HTTPS with a CA the simulator made.
import type { IncomingHttpHeaders } from 'node:http'
import * as https from 'node:https'
import { systemClock } from '../src/base/clock.js'
import { deadlineAfter } from '../src/base/deadline.js'
import * as tls from 'node:tls'
import { buffer } from 'node:stream/consumers'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { fakeClock } from '../__fixtures__/clock.js'
import { htmlPage, resetConnection, statuses } from '../simulator/faults.js'
import { startSimulator, sendJson, type Simulator } from '../simulator/server.js'
import { createCertificateAuthority, issueServerCertificate } from '../simulator/certs.js'
import { AuthenticationError, OctoplantClient } from '../src/octoplant/client.js'
import { lookAtServer } from '../src/engine/preflight.js'
import { PUBLIC_CLIENT_ID, PUBLIC_CLIENT_SECRET } from '../protocol/protocol.js'
import { createTransport, NetworkError, OctoplantError } from '../src/octoplant/request.js'
import { asAction } from '../__fixtures__/spelled.js'

let sim: Simulator
const defaultCAs = tls.getCACertificates('default')

beforeAll(async () => {
  sim = await startSimulator({ pendingMs: 100, runningMs: 300 })
  trust(sim.caPem!)
})
/** Trusts the shared simulator's CA and these. */
function trust(...pems: string[]) {
  tls.setDefaultCACertificates([...defaultCAs, sim.caPem!, ...pems])
}
afterAll(async () => {
  tls.setDefaultCACertificates(defaultCAs)
  await sim?.stop()
})

/** Retries wait on a fake clock: the policy is tested without its real waits. */
function clientFor(url: string, password = 'change-it', onSecret?: (s: string) => void, clock = fakeClock()) {
  const transport = createTransport({ baseUrl: url, clock, random: () => 1 })
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
    const tokensBefore = sim.count('POST /v1/oauth2/token')
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
    expect(sim.count('POST /v1/oauth2/token') - tokensBefore).toBe(1)
    transport.close()
  })

  it('reports a refused password plainly, after one attempt', async () => {
    const before = sim.count('POST /v1/oauth2/token')
    const { client, transport } = clientFor(sim.url, 'wrong')
    const error = await client.authenticate().catch(e => e)
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(asAction(error.message)).toMatch(/^octoplant refused to sign in user "versiondog" \(UNAUTHENTICATED \(HTTP 401\): invalid username or password\)\. Check the username input and the password input/)
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
    trust(short.caPem!)
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
    trust(proxied.caPem!)
    proxied.intercept(htmlPage('GET /v1/order/{name}', 100))
    const { client, transport } = clientFor(proxied.url)
    const error = await client.getOrder('x').catch(e => e)
    expect(error.message).toBe(
      'GET /v1/order/x failed: HTTP 502 with an HTML page ("502 Bad Gateway") (text/html), likely from a proxy or web server in front of octoplant (gave up after 5 attempts)'
    )
    expect(proxied.count('GET /v1/order/{name}')).toBe(5)
    transport.close()
    await proxied.stop()
  })

  it('reads the nested error of older gateways and streamed answers', async () => {
    const older = await startSimulator()
    trust(older.caPem!)
    older.intercept((_req, res, route) => {
      if (route !== 'GET /v1/order/{name}') return false
      sendJson(res, 503, { error: { code: 14, message: 'backend restarting', details: [] } })
      return true
    })
    const { client, transport } = clientFor(older.url)
    const error = await client.getOrder('x').catch(e => e)
    expect(error.message).toBe('GET /v1/order/x failed: UNAVAILABLE (HTTP 503): backend restarting (gave up after 5 attempts)')
    transport.close()
    await older.stop()
  })

  it('explains an untrusted certificate and names the input that fixes it', async () => {
    const stranger = await startSimulator({ certificate: await issueServerCertificate(await createCertificateAuthority('Plant CA')) })
    const { client, transport } = clientFor(stranger.url)
    const error = await client.authenticate().catch(e => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect(asAction(error.message)).toMatch(/^TLS check of 127\.0\.0\.1:\d+ failed: the server's certificate is signed by an unknown CA \[UNABLE_TO_VERIFY_LEAF_SIGNATURE\]; trust the plant's CA with the ca-certificate input/)
    expect(stranger.requests).toHaveLength(0)
    transport.close()
    await stranger.stop()
  })

  it('says plainly when nothing listens at server-url', async () => {
    const { client, transport } = clientFor('https://127.0.0.1:9')
    const error = await client.authenticate().catch(e => e)
    expect(error.message).toBe(
      'could not reach 127.0.0.1:9: the connection was refused (is the octoplant API service running and the port right?) [ECONNREFUSED] (gave up after 5 attempts)'
    )
    transport.close()
  })
})

describe('the retry policy of the request layer', () => {
  async function withFaults(...faults: Parameters<Simulator['intercept']>[0][]) {
    const s = await startSimulator({ pendingMs: 0, runningMs: 0 })
    trust(s.caPem!)
    for (const f of faults) s.intercept(f)
    return s
  }

  it('retries a 503 with exponential backoff and full jitter, and succeeds', async () => {
    const s = await withFaults(statuses('GET /v1/order/{name}', [503, 503, 503]))
    const clock = fakeClock()
    const { client, transport } = clientFor(s.url, 'change-it', undefined, clock)
    expect((await client.getOrder('x')).metadata?.state).toBe('STATE_UNSPECIFIED')
    expect(clock.sleeps).toEqual([250, 500, 1000])
    expect(s.count('GET /v1/order/{name}')).toBe(4)
    transport.close()
    await s.stop()
  })

  it('honours Retry-After on a 429, in seconds or as an HTTP date', async () => {
    const s = await withFaults(statuses('POST /v1/order', [429], { retryAfter: '7' }))
    const clock = fakeClock()
    const { client, transport } = clientFor(s.url, 'change-it', undefined, clock)
    await client.placeOrder({ jobList: {} })
    expect(clock.sleeps).toEqual([7000])
    expect(s.orders.size).toBe(1)
    transport.close()
    await s.stop()
    const { retryAfterMs } = await import('../src/base/retry.js')
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:30 GMT', Date.parse('Wed, 21 Oct 2026 07:28:00 GMT'))).toBe(30_000)
    expect(retryAfterMs('soon')).toBeUndefined()
  })

  it('does not wait past the deadline for a retry', async () => {
    const s = await withFaults(statuses('GET /v1/order/{name}', [503], { retryAfter: '120' }))
    const clock = fakeClock()
    const transport = createTransport({ baseUrl: s.url, clock, deadline: deadlineAfter(clock, 60_000) })
    const error = (await transport.json({ method: 'GET', path: '/v1/order/x', token: 't' }).catch(e => e)) as Error
    expect(error.message).toMatch(/UNAVAILABLE \(HTTP 503\): simulated 503 \(no time left to retry before the timeout\)$/)
    expect(clock.sleeps).toEqual([])
    transport.close()
    await s.stop()
  })

  it.each([
    ['INVALID_ARGUMENT', 400, 3],
    ['NOT_FOUND', 404, 5],
    ['PERMISSION_DENIED', 403, 7],
    ['FAILED_PRECONDITION', 400, 9]
  ])('never retries %s', async (name, status, code) => {
    const s = await withFaults(statuses('GET /v1/order/{name}', [status], { code, message: 'no' }))
    const { client, transport } = clientFor(s.url)
    const error = await client.getOrder('x').catch(e => e)
    expect(error.message).toBe(`GET /v1/order/x failed: ${name} (HTTP ${status}): no`)
    expect(s.count('GET /v1/order/{name}')).toBe(1)
    transport.close()
    await s.stop()
  })

  it('never places an order twice: a connection dropped after sending fails clearly', async () => {
    const s = await withFaults(resetConnection('POST /v1/order', 1, { afterBody: true }))
    const { client, transport } = clientFor(s.url)
    const error = await client.placeOrder({ jobList: {} }).catch(e => e)
    expect(asAction(error.message)).toMatch(/^placing the order failed after the request may have reached the server \(could not reach .*ECONNRESET.*\)\. It was not sent again.*re-run with order-name/)
    expect(s.count('POST /v1/order')).toBe(1)
    transport.close()
    await s.stop()
  })

  it('places the order again when the connection was refused: the server never saw it', async () => {
    const s = await withFaults()
    const port = Number(new URL(s.url).port)
    await s.stop()
    // The service comes back while the client backs off (a restart).
    const clock = fakeClock()
    let restarted: Simulator | undefined
    clock.sleep = async ms => {
      clock.sleeps.push(ms)
      restarted ??= await startSimulator({ port })
      trust(restarted.caPem!)
    }
    const transport = createTransport({ baseUrl: s.url, clock, random: () => 0.5 })
    const client = new OctoplantClient({
      transport,
      credentials: { username: 'versiondog', password: 'change-it', clientId: PUBLIC_CLIENT_ID, clientSecret: PUBLIC_CLIENT_SECRET }
    })
    const op = await client.placeOrder({ jobList: {} })
    expect(op.name).toBeDefined()
    expect(restarted!.orders.size).toBe(1)
    expect(clock.sleeps).toEqual([125])
    transport.close()
    await restarted!.stop()
  })

  it('a second 401 in a row is final', async () => {
    const s = await startSimulator({ tokenMaxUses: 0 })
    trust(s.caPem!)
    const { client, transport } = clientFor(s.url)
    const error = await client.getOrder('x').catch(e => e)
    expect(error).toMatchObject({ httpStatus: 401 })
    expect(s.count('POST /v1/oauth2/token')).toBe(2)
    expect(s.count('GET /v1/order/{name}')).toBe(2)
    transport.close()
    await s.stop()
  })

  it('renews the token before expires_in runs out, with the refresh grant when one was issued', async () => {
    const s = await startSimulator({ tokenLifetimeSec: 60, issueRefreshTokens: true })
    trust(s.caPem!)
    const clock = fakeClock()
    const secrets: string[] = []
    const transport = createTransport({ baseUrl: s.url, clock })
    const client = new OctoplantClient({
      transport,
      credentials: { username: 'versiondog', password: 'change-it', clientId: PUBLIC_CLIENT_ID, clientSecret: PUBLIC_CLIENT_SECRET },
      onSecret: v => secrets.push(v),
      now: () => clock.now()
    })
    await client.getOrder('x')
    clock.advance(45_000)
    await client.getOrder('x')
    expect(s.requests.map(r => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /v1/oauth2/token 200',
      'GET /v1/order/x 200',
      'POST /v1/oauth2/token 200',
      'GET /v1/order/x 200'
    ])
    expect(secrets).toHaveLength(4)
    transport.close()
    await s.stop()
  })

  it('renews a short-lived token at half its lifetime, not before every call', async () => {
    const s = await startSimulator({ tokenLifetimeSec: 10 })
    trust(s.caPem!)
    const clock = fakeClock()
    const transport = createTransport({ baseUrl: s.url, clock })
    const client = new OctoplantClient({
      transport,
      credentials: { username: 'versiondog', password: 'change-it', clientId: PUBLIC_CLIENT_ID, clientSecret: PUBLIC_CLIENT_SECRET },
      now: () => clock.now()
    })
    await client.getOrder('x')
    clock.advance(4_000)
    await client.getOrder('x')
    expect(s.count('POST /v1/oauth2/token')).toBe(1)
    clock.advance(2_000)
    await client.getOrder('x')
    expect(s.count('POST /v1/oauth2/token')).toBe(2)
    transport.close()
    await s.stop()
  })

})

describe('the look at the server before ordering (optional: it informs, never blocks)', () => {
  function recorder() {
    const lines: string[] = []
    return { lines, logger: { debug: (m: string) => lines.push(`debug: ${m}`), info: (m: string) => lines.push(m), warning: (m: string) => lines.push(`warning: ${m}`) } }
  }

  it('reads the versions and says when maintenance mode is on, with reason, time, computer and user', async () => {
    const s = await startSimulator({
      maintenance: { active: true, reason: 'DISK_LOW', activatedAt: '2026-11-27T22:00:00Z', computerName: 'VDOG-SRV', activatedBy: '5f0c1e8a-1111-4222-8333-944455556666' }
    })
    trust(s.caPem!)
    const { client, transport } = clientFor(s.url)
    const { lines, logger } = recorder()
    const info = await lookAtServer(client, logger, { clock: systemClock })
    expect(info).toMatchObject({ apiVersion: '1.2.0-release-5-c845dda7', versiondogVersion: '10.1.0-acf932ab', maintenance: { active: true, reason: 'DISK_LOW' } })
    expect(lines).toContain('Server: octoplant API 1.2.0-release-5-c845dda7, versiondog 10.1.0-acf932ab.')
    expect(lines).toContain(
      'warning: octoplant is in maintenance mode (reason DISK_LOW: the server is low on disk space, since 2026-11-27T22:00:00Z, from VDOG-SRV, by user 5f0c1e8a-1111-4222-8333-944455556666). ' +
        'Check-ins are blocked in this mode but reads still work, so the export is ordered anyway; if the server refuses it, its own message follows.'
    )
    transport.close()
    await s.stop()
  })

  it('is quiet when maintenance mode is off, in either JSON form', async () => {
    for (const emitUnpopulated of [true, false]) {
      const s = await startSimulator({ emitUnpopulated })
      trust(s.caPem!)
      const { client, transport } = clientFor(s.url)
      const { lines, logger } = recorder()
      const info = await lookAtServer(client, logger, { clock: systemClock })
      expect(info.maintenance).toBeUndefined()
      expect(lines.filter(l => l.startsWith('warning'))).toEqual([])
      transport.close()
      await s.stop()
    }
  })

  it('turns every failure into a debug line: 403 for an export account, 404 on an older server, 500, an HTML page, a timeout', async () => {
    const cases: [string, (s: Simulator) => void, RegExp][] = [
      ['403', () => undefined, /PERMISSION_DENIED \(HTTP 403\): user versiondog lacks the right/],
      ['404', s => s.intercept(statuses('GET /v1/status/maintenance_mode', [404], { code: 5, message: 'Not Found' })), /NOT_FOUND \(HTTP 404\)/],
      ['500', s => s.intercept(statuses('GET /v1/status/maintenance_mode', [500])), /INTERNAL \(HTTP 500\)/],
      ['503', s => s.intercept(statuses('GET /v1/status/maintenance_mode', [503])), /UNAVAILABLE \(HTTP 503\)/],
      ['HTML', s => s.intercept(htmlPage('GET /v1/status/maintenance_mode', 1)), /an HTML page \("502 Bad Gateway"\)/],
      ['timeout', s => s.intercept((_req, _res, route) => route === 'GET /v1/status/maintenance_mode'), /no answer within 0\.3s/]
    ]
    for (const [what, fault, expected] of cases) {
      const s = await startSimulator(what === '403' ? { statusDeniedTo: ['versiondog'] } : {})
      fault(s)
      trust(s.caPem!)
      const { client, transport } = clientFor(s.url)
      const { lines, logger } = recorder()
      const info = await lookAtServer(client, logger, { clock: systemClock, timeoutMs: 300 })
      expect(info.maintenance, what).toBeUndefined()
      const line = lines.find(l => l.startsWith('debug: optional GET /v1/status/maintenance_mode not read, carrying on: '))
      expect(line, `${what}: ${lines.join('\n')}`).toMatch(expected)
      expect(lines.filter(l => l.startsWith('warning')), what).toEqual([])
      transport.close()
      await s.stop()
      // One try each: an optional call is not worth a retry (a hung request is logged when it closes).
      await vi.waitFor(() => expect(s.count('GET /v1/status/maintenance_mode'), what).toBe(1))
    }
  })

  it('does without the version calls on a server that has none', async () => {
    const s = await startSimulator({ apiVersion: null, versiondogVersion: null })
    trust(s.caPem!)
    const { client, transport } = clientFor(s.url)
    const { lines, logger } = recorder()
    expect(await lookAtServer(client, logger, { clock: systemClock })).toEqual({ apiVersion: undefined, versiondogVersion: undefined, maintenance: undefined })
    expect(lines.filter(l => l.startsWith('debug'))).toHaveLength(2)
    expect(lines.filter(l => !l.startsWith('debug'))).toEqual([])
    transport.close()
    await s.stop()
  })
})

describe('the simulator, as the documents describe the server', () => {
  it('answers a poll of an unknown order with STATE_UNSPECIFIED', async () => {
    const { client, transport } = clientFor(sim.url)
    expect(await client.getOrder('no-such-order')).toMatchObject({ name: 'no-such-order', metadata: { state: 'STATE_UNSPECIFIED' }, done: false })
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
    const transport = createTransport({ baseUrl: sim.url  })
    const error = await transport.json({ method: 'GET', path: '/v1/order/x' }).catch(e => e)
    expect(error).toMatchObject({ httpStatus: 401, grpcCode: 16 })
    transport.close()
  })

  it('routes as grpc-gateway does: 404 NOT_FOUND for an unknown path, 501 UNIMPLEMENTED for a wrong method', async () => {
    const unknown = await raw(sim, 'GET', '/v1/orders')
    expect([unknown.status, JSON.parse(unknown.text)]).toEqual([404, { code: 5, message: 'Not Found', details: [] }])
    const wrongMethod = await raw(sim, 'DELETE', '/v1/order/x')
    expect([wrongMethod.status, JSON.parse(wrongMethod.text)]).toEqual([501, { code: 12, message: 'Method Not Allowed', details: [] }])
  })

  it('writes every field as protobuf JSON does by default, and keeps currentSubProcess on a failed order', async () => {
    const s = await startSimulator({ pendingMs: 0, runningMs: 100, failWith: { code: 13, message: 'archive unreadable' } })
    trust(s.caPem!)
    const { client, transport } = clientFor(s.url)
    const placed = await client.placeOrder({ projectTree: {} })
    expect(placed).toMatchObject({ done: false, error: null, response: null, metadata: { currentSubProcess: expect.any(String), finishedSubProcesses: '0' } })
    const failed = await untilDone(client, placed.name!)
    expect(failed).toMatchObject({ done: true, response: null, error: { code: 13, message: 'archive unreadable' }, metadata: { state: 'STATE_FAILED', currentSubProcess: 'Pack ZIP' } })
    transport.close()
    await s.stop()
  })

  it('streams the download chunked, without Content-Length, with the delimiter after the ZIP; an error before any data comes as {"error": …}', async () => {
    const tokens: string[] = []
    const { client, transport } = clientFor(sim.url, 'change-it', t => tokens.push(t))
    const placed = await client.placeOrder({ projectTree: {} })
    const bearer = { authorization: `Bearer ${tokens.at(-1)}` }
    const early = await raw(sim, 'GET', `/v1/order/${placed.name}/download`, bearer)
    expect(early.status).toBe(400)
    expect(early.text).toMatch(/^\{"error":\{"code":9,"message":"order [\w-]+ is STATE_\w+; only a succeeded export can be downloaded","details":\[\]\}\}\n$/)
    await untilDone(client, placed.name!)
    const res = await raw(sim, 'GET', `/v1/order/${placed.name}/download`, bearer)
    expect(res.status).toBe(200)
    expect(res.headers['content-length']).toBeUndefined()
    expect(res.headers['transfer-encoding']).toBe('chunked')
    const end = res.body.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
    expect(res.body.subarray(end + 22).toString()).toBe('\n')
    transport.close()
  })

  it('answers the token call with only access_token, or refuses in OAuth2 form, when told to', async () => {
    const s = await startSimulator({ tokenAnswer: 'access-token-only', tokenErrors: 'oauth2' })
    const form = (password: string) =>
      new URLSearchParams({ grant_type: 'password', username: 'versiondog', password, client_id: PUBLIC_CLIENT_ID, client_secret: PUBLIC_CLIENT_SECRET }).toString()
    const ok = await raw(s, 'POST', '/v1/oauth2/token', { 'content-type': 'application/x-www-form-urlencoded' }, form('change-it'))
    expect(Object.keys(JSON.parse(ok.text))).toEqual(['access_token'])
    const refused = await raw(s, 'POST', '/v1/oauth2/token', { 'content-type': 'application/x-www-form-urlencoded' }, form('wrong'))
    expect([refused.status, JSON.parse(refused.text)]).toEqual([400, { error: 'invalid_grant', error_description: 'invalid username or password' }])
    await s.stop()
  })
})

/** One request as it goes over the wire, for checking what the simulator sends. */
async function raw(s: Simulator, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer; text: string }>((resolve, reject) => {
    const req = https.request(`${s.url}${path}`, { method, headers, ca: s.caPem }, res => {
      void buffer(res).then(b => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text: b.toString('utf8') }), reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}
