// The fault matrix: the bundled action, run as the runner runs it, against a simulator that
// misbehaves in one scripted way per row. Each row asserts the outcome, the outputs and the
// requests made (bounded; never a second order).
import { existsSync, readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { runLocally, type LocalRun } from '../scripts/local-runner.js'
import { corruptDownload, errorAfterZip, htmlPage, resetConnection, statuses, truncatedDownload } from '../simulator/faults.js'
import { type Interceptor, type Simulator, type SimulatorOptions, startSimulator } from '../simulator/server.js'

interface Row {
  fault: string
  sim?: SimulatorOptions
  faults?: Interceptor[]
  inputs?: Record<string, string>
  ok: boolean
  message?: RegExp
  check?: (run: LocalRun, sim: Simulator) => void
}

const table: string[] = []
afterAll(() => {
  // The fault matrix as the closing note shows it.
  console.log(['| fault | outcome | requests made |', '|---|---|---|', ...table.sort()].join('\n'))
})

const rows: Row[] = [
  { fault: '503 ×2 on the token endpoint', faults: [statuses('POST /v1/oauth2/token', [503, 503])], ok: true, check: (_, s) => expect(s.count('POST /v1/oauth2/token')).toBe(3) },
  { fault: '503 ×3 while polling', faults: [statuses('GET /v1/order/{name}', [503, 503, 503])], ok: true },
  { fault: '502 HTML page from a proxy ×2 while polling', faults: [htmlPage('GET /v1/order/{name}', 2)], ok: true },
  { fault: '504 ×1 on the download', faults: [statuses('GET /v1/order/{name}/download', [504])], ok: true, check: (_, s) => expect(s.count('GET /v1/order/{name}/download')).toBe(2) },
  {
    fault: '429 with Retry-After: 1 on the order',
    faults: [statuses('POST /v1/order', [429], { retryAfter: '1' })],
    ok: true,
    check: (run, s) => {
      expect(s.count('POST /v1/order')).toBe(2)
      expect(s.orders.size).toBe(1)
      expect(run.durationMs).toBeGreaterThan(1000)
    }
  },
  { fault: 'connection reset ×2 while polling', faults: [resetConnection('GET /v1/order/{name}', 2)], ok: true },
  {
    fault: 'connection reset after the order was sent',
    faults: [resetConnection('POST /v1/order', 1, { afterBody: true })],
    ok: false,
    message: /^placing the order failed after the request may have reached the server .* It was not sent again, so that no second export is made\. If octoplant shows the order, re-run with order-name/,
    check: (run, s) => {
      expect(s.count('POST /v1/order')).toBe(1)
      expect(run.outputs['order-name']).toBeUndefined()
    }
  },
  {
    fault: 'INVALID_ARGUMENT on the order',
    faults: [statuses('POST /v1/order', [400], { code: 3, message: 'exportContents: bad dir' })],
    ok: false,
    message: /^POST \/v1\/order failed: INVALID_ARGUMENT \(HTTP 400\): exportContents: bad dir$/,
    check: (_, s) => expect(s.count('POST /v1/order')).toBe(1)
  },
  {
    fault: 'NOT_FOUND while polling',
    faults: [statuses('GET /v1/order/{name}', [404], { code: 5, message: 'order gone' })],
    ok: false,
    message: /^GET \/v1\/order\/[\w-]+ failed: NOT_FOUND \(HTTP 404\): order gone$/,
    check: (_, s) => expect(s.count('GET /v1/order/{name}')).toBe(1)
  },
  { fault: 'token expires after 2 uses (401 mid-poll)', sim: { tokenMaxUses: 2 }, ok: true, check: (_, s) => expect(s.count('POST /v1/oauth2/token')).toBeGreaterThanOrEqual(2) },
  {
    fault: 'every token refused (401 twice in a row)',
    sim: { tokenMaxUses: 0 },
    ok: false,
    message: /UNAUTHENTICATED \(HTTP 401\)/,
    check: (_, s) => {
      expect(s.count('POST /v1/oauth2/token')).toBe(2)
      expect(s.orders.size).toBe(0)
    }
  },
  { fault: 'download cut after 100 bytes ×1', faults: [truncatedDownload(1, 100)], ok: true, check: (_, s) => expect(s.count('GET /v1/order/{name}/download')).toBe(2) },
  { fault: 'error JSON appended to a 200 download ×1', faults: [errorAfterZip(1)], ok: true, check: (_, s) => expect(s.count('GET /v1/order/{name}/download')).toBe(2) },
  { fault: 'a byte of the ZIP damaged ×1', faults: [corruptDownload(1)], ok: true, check: (_, s) => expect(s.count('GET /v1/order/{name}/download')).toBe(2) },
  {
    fault: 'download broken every time',
    faults: [errorAfterZip(100)],
    ok: false,
    message: /^the download failed 3 times; the last time: not a valid ZIP/,
    check: (run, s) => {
      expect(s.count('GET /v1/order/{name}/download')).toBe(3)
      expect(run.outputs['zip-path']).toBeUndefined()
    }
  },
  { fault: 'chunked download without Content-Length (deflated)', sim: { compress: true }, ok: true },
  { fault: 'stored download with Content-Length', sim: { compress: false, payloadBytes: 5_000_000 }, ok: true },
  {
    fault: 'order never finishes (timeout 3s)',
    sim: { runningMs: 1e9 },
    inputs: { timeout: '3s' },
    ok: false,
    message: /^the order was not done after 3s \(last state STATE_RUNNING\): the timeout input was reached$/,
    check: (run, s) => {
      expect(s.count('POST /v1/order/{name}/cancel')).toBe(1)
      expect(s.orders.get(run.outputs['order-name'])?.cancelledAt).toBeDefined()
      expect(run.outputs.state).toBe('STATE_RUNNING')
    }
  },
  {
    fault: 'server down while polling until the deadline (503 always)',
    sim: { runningMs: 1e9 },
    faults: [statuses('GET /v1/order/{name}', Array(1000).fill(503))],
    inputs: { timeout: '4s' },
    ok: false,
    message: /^the order was not done after 4s \(last state STATE_PENDING; the last poll failed: GET \/v1\/order\/[\w-]+ failed: UNAVAILABLE \(HTTP 503\): simulated 503 \(.*\)\): the timeout input was reached$/,
    check: (_, s) => {
      expect(s.count('GET /v1/order/{name}')).toBeLessThan(40)
      expect(s.count('POST /v1/order/{name}/cancel')).toBe(1)
    }
  },
  {
    fault: 'order fails on the server (PERMISSION_DENIED)',
    sim: { failWith: { code: 7, message: 'user may not export the user management' } },
    ok: false,
    message: /^order [\w-]+ failed on the server: PERMISSION_DENIED: user may not export the user management$/,
    check: run => expect(run.outputs.state).toBe('STATE_FAILED')
  },
  {
    fault: 'maintenance mode active',
    sim: { maintenance: { active: true, reason: 'SERVER_SYNC', activatedAt: '2026-11-28T01:00:00Z' } },
    ok: false,
    message: /^octoplant is in maintenance mode \(reason SERVER_SYNC, since 2026-11-28T01:00:00Z\): no export can run now/,
    check: (_, s) => expect(s.count('POST /v1/order')).toBe(0)
  }
]

describe('the fault matrix', () => {
  it.concurrent.each(rows.map(r => [r.fault, r] as const))('%s', async (_, row) => {
    const sim = await startSimulator({ pendingMs: 100, runningMs: 300, ...row.sim })
    for (const f of row.faults ?? []) sim.intercept(f)
    try {
      const run = await runLocally({
        inputs: { 'server-url': sim.url, username: 'versiondog', password: 'change-it', 'ca-certificate': sim.caPem!, timeout: '30s', ...row.inputs }
      })
      const message = run.outputs['error-message']
      if (row.ok) {
        expect(message, run.stdout).toBeUndefined()
        expect(run.code).toBe(0)
        expect(run.outputs.state).toBe('STATE_SUCCEEDED')
        expect(existsSync(run.outputs['zip-path'])).toBe(true)
        expect(readFileSync(run.outputs['zip-path']).subarray(0, 2).toString()).toBe('PK')
      } else {
        expect(run.code).toBe(1)
        expect(message).toMatch(row.message!)
        expect(run.stdout).toContain(`::error::${message.split('\n')[0]}`)
      }
      expect(sim.orders.size).toBeLessThanOrEqual(1)
      row.check?.(run, sim)
      table.push(
        `| ${row.fault} | ${row.ok ? 'succeeded, verified ZIP' : `failed: ${message.replace(/[\w-]{36}/g, '<order>').slice(0, 90)}`} | ${sim.requests.length}: ${sim.countsText().replaceAll('/v1/', '')} |`
      )
    } finally {
      await sim.stop()
    }
  })
})
