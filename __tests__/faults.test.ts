// The fault matrix: the bundled action, run as the runner runs it, against a simulator that
// misbehaves in one scripted way per row. Each row asserts the outcome, the outputs and the
// requests made (bounded; never a second order).
import { existsSync, readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { runLocally, type LocalRun } from '../scripts/local-runner.js'
import { corruptDownload, errorAfterZip, htmlPage, resetConnection, statuses, truncatedDownload } from '../simulator/faults.js'
import { type Interceptor, type Simulator, type SimulatorOptions, sendJson, startSimulator } from '../simulator/server.js'

/** The first `times` polls answer STATE_SUCCEEDED with done still false (to be polled again). */
function succeededNotDone(times: number): Interceptor {
  let left = times
  return (_req, res, route) => {
    if (route !== 'GET /v1/order/{name}' || left <= 0) return false
    left--
    sendJson(res, 200, { name: 'x', done: false, metadata: { state: 'STATE_SUCCEEDED', finishedSubProcesses: '4', openSubProcesses: '0' }, error: null, response: null })
    return true
  }
}

interface Row {
  fault: string
  /** The fault: simulator options and interceptors that are left out of the control run. */
  sim?: SimulatorOptions
  faults?: () => Interceptor[]
  /** Setup kept in the control run too. */
  inputs?: Record<string, string>
  /** A form of the server the evidence allows rather than a fault: the run must not notice, so there
   *  is nothing a control run could miss. */
  form?: true
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
  { fault: '503 ×2 on the token endpoint', faults: () => [statuses('POST /v1/oauth2/token', [503, 503])], ok: true, check: (_, s) => expect(s.count('POST /v1/oauth2/token')).toBe(3) },
  {
    fault: '503 ×3 while polling',
    faults: () => [statuses('GET /v1/order/{name}', [503, 503, 503])],
    ok: true,
    check: run => expect(run.stdout.match(/UNAVAILABLE \(HTTP 503\): simulated 503; retrying/g)).toHaveLength(3)
  },
  {
    fault: '502 HTML page from a proxy ×2 while polling',
    faults: () => [htmlPage('GET /v1/order/{name}', 2)],
    ok: true,
    check: run => expect(run.stdout.match(/an HTML page \("502 Bad Gateway"\).*; retrying/g)).toHaveLength(2)
  },
  {
    // One retry budget for the download: its loop owns the retries, the request layer makes one try.
    fault: 'a lasting 503 on the download',
    faults: () => [statuses('GET /v1/order/{name}/download', Array(100).fill(503))],
    ok: false,
    message: /^the download failed 5 times; the last time: GET \/v1\/order\/[\w-]+\/download failed: UNAVAILABLE \(HTTP 503\): simulated 503\. The export is finished on the server; re-run with order-name: [\w-]+ to fetch it without exporting again\.$/,
    check: (run, s) => {
      expect(s.count('GET /v1/order/{name}/download')).toBe(5)
      expect(run.stdout.match(/::warning::download attempt \d of 5 failed .*; downloading again in \d\.\ds/g)).toHaveLength(4)
    }
  },
  { fault: '504 ×1 on the download', faults: () => [statuses('GET /v1/order/{name}/download', [504])], ok: true, check: (_, s) => expect(s.count('GET /v1/order/{name}/download')).toBe(2) },
  {
    fault: '429 with Retry-After: 1 on the order',
    faults: () => [statuses('POST /v1/order', [429], { retryAfter: '1' })],
    ok: true,
    check: (run, s) => {
      expect(s.count('POST /v1/order')).toBe(2)
      expect(s.orders.size).toBe(1)
      expect(run.durationMs).toBeGreaterThan(1000)
    }
  },
  {
    fault: 'connection reset ×2 while polling',
    faults: () => [resetConnection('GET /v1/order/{name}', 2)],
    ok: true,
    check: run => expect(run.stdout.match(/the connection was reset \[ECONNRESET\]; retrying/g)).toHaveLength(2)
  },
  {
    fault: 'connection reset after the order was sent',
    faults: () => [resetConnection('POST /v1/order', 1, { afterBody: true })],
    ok: false,
    message: /^placing the order failed after the request may have reached the server .* It was not sent again, so that no second export is made\. If octoplant shows the order, re-run with order-name/,
    check: (run, s) => {
      expect(s.count('POST /v1/order')).toBe(1)
      expect(run.outputs['order-name']).toBeUndefined()
    }
  },
  {
    fault: 'INVALID_ARGUMENT on the order',
    faults: () => [statuses('POST /v1/order', [400], { code: 3, message: 'exportContents: bad dir' })],
    ok: false,
    message: /^POST \/v1\/order failed: INVALID_ARGUMENT \(HTTP 400\): exportContents: bad dir$/,
    check: (_, s) => expect(s.count('POST /v1/order')).toBe(1)
  },
  {
    fault: 'NOT_FOUND while polling',
    faults: () => [statuses('GET /v1/order/{name}', [404], { code: 5, message: 'order gone' })],
    ok: false,
    message: /^GET \/v1\/order\/[\w-]+ failed: NOT_FOUND \(HTTP 404\): order gone\. Order [\w-]+ may still be running on the server; re-run with order-name: [\w-]+ to resume it\.$/,
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
  { fault: 'download cut after 100 bytes ×1', faults: () => [truncatedDownload(1, 100)], ok: true, check: (_, s) => expect(s.count('GET /v1/order/{name}/download')).toBe(2) },
  {
    fault: 'a gateway stream error after the ZIP ×1',
    faults: () => [errorAfterZip(1)],
    ok: true,
    check: (run, s) => {
      expect(s.count('GET /v1/order/{name}/download')).toBe(2)
      expect(run.stdout).toMatch(/::warning::download attempt 1 of 5 failed \(the server broke off the download after \d+ bytes with a stream error: INTERNAL: stream terminated\); downloading again in \d\.\ds/)
    }
  },
  { fault: 'a byte of the ZIP damaged ×1', faults: () => [corruptDownload(1)], ok: true, check: (_, s) => expect(s.count('GET /v1/order/{name}/download')).toBe(2) },
  {
    fault: 'download broken every time',
    faults: () => [errorAfterZip(100)],
    ok: false,
    message: /^the download failed 5 times; the last time: the server broke off the download after \d+ bytes with a stream error: INTERNAL: stream terminated/,
    check: (run, s) => {
      expect(s.count('GET /v1/order/{name}/download')).toBe(5)
      expect(run.outputs['zip-path']).toBeUndefined()
    }
  },
  {
    fault: 'gateway framing (the default): chunked, no Content-Length, "\\n" after the ZIP',
    form: true,
    ok: true,
    check: (run, s) => {
      expect(s.count('GET /v1/order/{name}/download')).toBe(1)
      const zip = readFileSync(run.outputs['zip-path'])
      expect(zip.subarray(-22, -18).toString('hex')).toBe('504b0506')
      expect(run.outputs['zip-size']).toBe(String(zip.length))
      expect(run.stdout).toContain("::debug::dropped 1 byte(s) after the ZIP's end record")
    }
  },
  {
    fault: 'no stream delimiter (a server that overrides it)',
    sim: { delimiter: '' },
    ok: true,
    check: (run, s) => {
      expect(s.count('GET /v1/order/{name}/download')).toBe(1)
      expect(run.stdout).not.toContain('::debug::dropped')
    }
  },
  {
    fault: 'stored download with Content-Length (a buffering proxy)',
    sim: { compress: false, downloadFraming: 'content-length', payloadBytes: 5_000_000 },
    ok: true,
    check: (run, s) => {
      expect(s.count('GET /v1/order/{name}/download')).toBe(1)
      expect(Number(run.outputs['zip-size'])).toBeGreaterThan(5_000_000)
      expect(run.stdout).toMatch(/Downloading the export \(4\.\d\d MiB\)\./)
    }
  },
  {
    fault: 'the ZIP in 4 KiB messages, "\\n" after each (stock gateway, multi-message stream)',
    sim: { messageBytes: 4096, payloadBytes: 20_000 },
    ok: false,
    message: /^the download failed 5 times; the last time: (not a valid ZIP|entry ".*" is corrupt)/,
    check: (run, s) => {
      expect(s.count('GET /v1/order/{name}/download')).toBe(5)
      expect(run.outputs['zip-path']).toBeUndefined()
    }
  },
  {
    fault: 'answers with only the set fields (no EmitUnpopulated)',
    form: true,
    sim: { emitUnpopulated: false },
    ok: true,
    check: (run, s) => {
      expect(s.count('GET /v1/order/{name}')).toBeGreaterThan(0)
      expect(run.summary).toContain('| Server version | octoplant API 1.2.0-release-5-c845dda7, versiondog 10.1.0-acf932ab |')
    }
  },
  {
    fault: 'token answer with only access_token',
    form: true,
    sim: { tokenAnswer: 'access-token-only' },
    ok: true,
    check: (_, s) => expect(s.count('POST /v1/oauth2/token')).toBe(1)
  },
  {
    fault: 'token refused in OAuth2 form (invalid_grant)',
    sim: { tokenErrors: 'oauth2', users: { versiondog: 'other' } },
    ok: false,
    message: /^octoplant refused to sign in user "versiondog" \(HTTP 400: invalid_grant: invalid username or password\)\. Check the username input and the password input/,
    check: (_, s) => {
      expect(s.count('POST /v1/oauth2/token')).toBe(1)
      expect(s.orders.size).toBe(0)
    }
  },
  {
    fault: 'STATE_SUCCEEDED while done is false ×2',
    faults: () => [succeededNotDone(2)],
    ok: true,
    check: (_, s) => {
      expect(s.count('GET /v1/order/{name}')).toBeGreaterThanOrEqual(3)
      expect(s.count('GET /v1/order/{name}/download')).toBe(1)
    }
  },
  {
    fault: 'export user without the right to read the status (403 on every status call)',
    sim: { statusDeniedTo: ['versiondog'] },
    ok: true,
    check: (run, s) => {
      expect(s.requests.filter(r => r.path.startsWith('/v1/status/')).map(r => r.status)).toEqual([403, 403, 403])
      expect(s.count('POST /v1/order')).toBe(1)
      expect(run.stdout).toMatch(/::debug::optional GET \/v1\/status\/maintenance_mode not read, carrying on: .*PERMISSION_DENIED \(HTTP 403\)/)
      expect(run.stdout).not.toContain('::warning::')
      expect(run.summary).not.toContain('Server version')
    }
  },
  {
    fault: 'an older server without the version calls (404)',
    sim: { apiVersion: null, versiondogVersion: null },
    ok: true,
    check: (run, s) => {
      expect(s.requests.filter(r => r.path.endsWith('_version')).map(r => r.status)).toEqual([404, 404])
      expect(run.summary).not.toContain('Server version')
    }
  },
  {
    fault: 'order never finishes (timeout 3s)',
    sim: { runningMs: 1e9 },
    inputs: { timeout: '3s' },
    ok: false,
    message: /^the order was not done after 3s \(last state STATE_RUNNING\): the timeout input was reached\. Order [\w-]+ was cancelled on the server; run again to export anew\.$/,
    check: (run, s) => {
      expect(s.count('POST /v1/order/{name}/cancel')).toBe(1)
      expect(s.orders.get(run.outputs['order-name'])?.cancelledAt).toBeDefined()
      expect(run.outputs.state).toBe('STATE_RUNNING')
    }
  },
  {
    fault: 'server down while polling until the deadline (503 always)',
    sim: { runningMs: 1e9 },
    faults: () => [statuses('GET /v1/order/{name}', Array(1000).fill(503))],
    inputs: { timeout: '4s' },
    ok: false,
    message: /^the order was not done after 4s \(last state STATE_PENDING; the last poll failed: GET \/v1\/order\/[\w-]+ failed: UNAVAILABLE \(HTTP 503\): simulated 503 \(.*\)\): the timeout input was reached\. Order [\w-]+ was cancelled on the server; run again to export anew\.$/,
    check: (_, s) => {
      expect(s.count('GET /v1/order/{name}')).toBeLessThan(40)
      expect(s.count('POST /v1/order/{name}/cancel')).toBe(1)
    }
  },
  {
    fault: 'order fails on the server (PERMISSION_DENIED)',
    sim: { failWith: { code: 7, message: 'user may not export the user management' } },
    ok: false,
    message: /^order [\w-]+ failed on the server during "Pack ZIP": PERMISSION_DENIED: user may not export the user management$/,
    check: run => expect(run.outputs.state).toBe('STATE_FAILED')
  },
  {
    fault: 'maintenance mode active (exports still run)',
    sim: { maintenance: { active: true, reason: 'SERVER_SYNC', activatedAt: '2026-11-28T01:00:00Z', computerName: 'VDOG-SRV' } },
    ok: true,
    check: (run, s) => {
      expect(s.count('GET /v1/status/maintenance_mode')).toBe(1)
      expect(s.count('POST /v1/order')).toBe(1)
      expect(run.stdout).toContain(
        '::warning::octoplant is in maintenance mode (reason SERVER_SYNC: a server sync is running, since 2026-11-28T01:00:00Z, from VDOG-SRV). Check-ins are blocked'
      )
      expect(run.summary).toContain('| Maintenance mode | ⚠️ on: reason SERVER_SYNC')
    }
  },
  {
    fault: 'maintenance mode active and the server refuses the order',
    sim: { maintenance: { active: true, reason: 'DISK_LOW', refusesExports: true } },
    ok: false,
    message: /^POST \/v1\/order failed: FAILED_PRECONDITION \(HTTP 400\): the server is in maintenance mode$/,
    check: (run, s) => {
      expect(s.count('POST /v1/order')).toBe(1)
      expect(run.stdout).toContain('::warning::octoplant is in maintenance mode (reason DISK_LOW: the server is low on disk space')
    }
  }
]

/** Runs the action against a simulator with the row's fault (or without it: the control run) and
 *  asserts what the row expects. */
async function runRow(row: Row, injectFault: boolean): Promise<void> {
  const sim = await startSimulator({ pendingMs: 100, runningMs: 300, ...(injectFault ? row.sim : {}) })
  if (injectFault) for (const f of row.faults?.() ?? []) sim.intercept(f)
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
    if (injectFault) {
      table.push(
        `| ${row.fault} | ${row.ok ? 'succeeded, verified ZIP' : `failed: ${message.replace(/[\w-]{36}/g, '<order>').slice(0, 90)}`} | ${sim.requests.length}: ${sim.countsText().replaceAll('/v1/', '')} |`
      )
    }
  } finally {
    await sim.stop()
  }
}

describe('the fault matrix', () => {
  it.concurrent.each(rows.map(r => [r.fault, r] as const))('%s', async (_, row) => runRow(row, true))
})

describe('each fault-matrix row fails when its fault is not injected (the row can fail)', () => {
  it.concurrent.each(rows.filter(r => !r.form).map(r => [r.fault, r] as const))('%s', async (_, row) => {
    await expect(runRow(row, false)).rejects.toThrow()
  })
})
