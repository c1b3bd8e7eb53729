// The engine's whole run with a fake transport and a fake clock: no server, no bundle, no network,
// no waiting. What the engine asks of the server, what it tells its front end, and what it leaves on
// disk, for a run that succeeds and one whose deadline passes while the order runs.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { fakeClock } from '../__fixtures__/clock.js'
import { makeZip } from '../__fixtures__/zips.js'
import { type ExportHost, runExport } from '../src/engine/export.js'
import type { ExportSettings } from '../src/engine/settings.js'
import { OctoplantError, type SendOptions, type Transport } from '../src/octoplant/request.js'
import { asAction } from '../__fixtures__/spelled.js'

/** Answers each call from a script keyed by "METHOD path"; records the calls. */
function fakeTransport(script: Record<string, (o: SendOptions) => unknown>): { calls: string[]; make: () => Transport } {
  const calls: string[] = []
  const answer = (o: SendOptions) => {
    const route = `${o.method} ${o.path}`
    calls.push(route)
    const key = Object.keys(script).find(k => route === k || (k.endsWith('*') && route.startsWith(k.slice(0, -1))))
    if (!key) throw new OctoplantError(`${route} failed: NOT_FOUND (HTTP 404): Not Found`, 404, 5)
    return script[key](o)
  }
  return {
    calls,
    make: () => ({
      json: <T>(o: SendOptions) => Promise.resolve().then(() => answer(o) as T),
      stream: (o: SendOptions) => Promise.resolve().then(() => ({ body: answer(o) as Readable })),
      close: () => undefined
    })
  }
}

function recordingHost(): ExportHost & { events: string[]; lines: string[] } {
  const events: string[] = []
  const lines: string[] = []
  return {
    events,
    lines,
    debug: () => undefined,
    info: m => void lines.push(m),
    warning: m => void lines.push(`warning: ${m}`),
    secret: () => undefined,
    orderNamed: n => void events.push(`order ${n}`),
    stateChanged: s => void events.push(`state ${s}`),
    zipSaved: z => void events.push(`zip ${path.basename(z.path)}`),
    extracted: d => void events.push(`extracted ${path.basename(d)}`),
    evidenceKept: e => void events.push(`evidence ${path.basename(e.recordPath)}`) }
}

const settings = (out: string, extra: Partial<ExportSettings> = {}): ExportSettings => ({
  serverUrl: 'https://octoplant.test:64023',
  username: 'backup',
  password: 'backup-password',
  clientId: 'public-api',
  clientSecret: 'the-client-secret',
  exportContents: { projectTree: {} },
  timeoutMs: 60_000,
  maxPollIntervalMs: 30_000,
  cancelOnTimeout: true,
  path: out,
  extract: true,
  artifactName: 'plant',
  insecureSkipTlsVerify: false,
  failOn: [],
  ...extra
})

const operation = (state: string, done = false) => ({ name: 'o-1', done, metadata: { name: 'o-1', state, finishedSubProcesses: '1', openSubProcesses: done ? '0' : '1' } })
const provenance = { tool: { name: 'test', version: '0' }, ranBy: { system: 'none' } }

describe("the engine's whole run, with a fake transport and a fake clock", () => {
  it('signs in, orders, polls, downloads, verifies, extracts and keeps the evidence as a set', async () => {
    const zip = await makeZip({ 'contents.json': '{}', 'Plant/Line 1/program.awl': 'L 1' })
    let polls = 0
    const server = fakeTransport({
      'POST /v1/oauth2/token': () => ({ access_token: 'session' }),
      'POST /v1/order': () => operation('STATE_PENDING'),
      'GET /v1/order/o-1/download': () => Readable.from([zip]),
      'GET /v1/order/o-1': () => (++polls < 3 ? operation('STATE_RUNNING') : operation('STATE_SUCCEEDED', true))
    })
    const out = mkdtempSync(path.join(tmpdir(), 'engine-'))
    const clock = fakeClock()
    const host = recordingHost()
    const report = await runExport(settings(out), host, { clock, transport: server.make, provenance })
    expect(report.error).toBeUndefined()
    expect(host.events).toEqual(['state STATE_PENDING', 'order o-1', 'state STATE_RUNNING', 'state STATE_SUCCEEDED', 'zip plant.zip', 'extracted o-1', 'evidence plant.record.json'])
    expect(server.calls.filter(c => c === 'GET /v1/order/o-1')).toHaveLength(3)
    // The fake clock moved by the polls' waits only: nothing really waited.
    expect(clock.sleeps).toEqual([1000, 1000])
    expect(readdirSync(out).sort()).toEqual(['o-1', 'plant.manifest.sha256', 'plant.record.json', 'plant.zip'])
    expect(readFileSync(path.join(out, 'o-1', 'Plant', 'Line 1', 'program.awl'), 'utf8')).toBe('L 1')
    expect(report.zip).toMatchObject({ path: path.join(out, 'plant.zip'), size: zip.length, entryCount: 2 })
  })

  it('cancels the order when the deadline passes while it runs, and leaves no file', async () => {
    const server = fakeTransport({
      'POST /v1/oauth2/token': () => ({ access_token: 'session' }),
      'POST /v1/order': () => operation('STATE_RUNNING'),
      'POST /v1/order/o-1/cancel': () => ({}),
      'GET /v1/order/o-1': () => operation('STATE_RUNNING')
    })
    const out = mkdtempSync(path.join(tmpdir(), 'engine-'))
    const report = await runExport(settings(out, { timeoutMs: 10_000 }), recordingHost(), { clock: fakeClock(), transport: server.make, provenance })
    expect(report.orderOutcome).toBe('cancelled')
    expect(asAction(report.error)).toMatch(/^the order was not done after 10s \(last state STATE_RUNNING\): the timeout input was reached\. Order o-1 was cancelled on the server/)
    expect(server.calls).toContain('POST /v1/order/o-1/cancel')
    expect(server.calls.some(c => c.endsWith('/download'))).toBe(false)
    expect(readdirSync(out)).toEqual([])
  })
})
