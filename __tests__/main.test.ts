// run() in process, with a recording core and injected artifact client, against the simulator.
import { existsSync, mkdtempSync } from 'node:fs'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import * as tls from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { fakeCore } from '../__fixtures__/core.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server.js'
import type { ArtifactClientLike } from '../src/artifact.js'
import { systemClock } from '../src/clock.js'
import { CancelledError, run, type RunDeps } from '../src/main.js'
import { PUBLIC_CLIENT_SECRET } from '../src/octoplant/protocol.js'

const defaultCAs = tls.getCACertificates('default')
let sims: Simulator[] = []
afterEach(async () => {
  tls.setDefaultCACertificates(defaultCAs)
  await Promise.all(sims.map(s => s.stop()))
  sims = []
})

async function simulator(o: SimulatorOptions = {}) {
  const sim = await startSimulator({ pendingMs: 100, runningMs: 400, ...o })
  sims.push(sim)
  return sim
}

function setup(sim: Simulator, inputs: Record<string, string> = {}, env: Record<string, string> = {}) {
  const core = fakeCore({
    'server-url': sim.url,
    username: 'versiondog',
    password: 'change-it',
    'ca-certificate': sim.caPem!,
    path: mkdtempSync(path.join(tmpdir(), 'run-')),
    timeout: '20s',
    ...inputs
  })
  const uploads: unknown[][] = []
  const artifactClient: ArtifactClientLike = {
    async uploadArtifact(...args) {
      uploads.push(args)
      return { id: 7, size: 100, digest: 'sha256:d1' }
    }
  }
  const job = new AbortController()
  const deps: RunDeps = {
    core,
    env: { GITHUB_WORKSPACE: tmpdir(), ...env },
    clock: systemClock,
    readFile: f => readFileSync(f, 'utf8'),
    loadArtifactClient: async () => artifactClient,
    trustCertificates: pem => tls.setDefaultCACertificates([...defaultCAs, pem]),
    jobSignal: job.signal
  }
  return { core, deps, uploads, job }
}

const uploadEnv = { ACTIONS_RUNTIME_TOKEN: 'runtime', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'plant/backups', GITHUB_RUN_ID: '5' }

describe('a run of the action', () => {
  it('exports, verifies, uploads and reports every output', async () => {
    const sim = await simulator()
    const { core, deps, uploads } = setup(sim, { 'export-contents': 'projectTree: {}\njobList: {}', 'retention-days': '10' }, uploadEnv)
    await run(deps)
    expect(core.failed).toBeUndefined()
    const name = core.outputs['order-name']
    expect(name).toMatch(/^[\w-]{36}$/)
    expect(core.outputs).toMatchObject({
      state: 'STATE_SUCCEEDED',
      'artifact-name': `octoplant-export-${name}.zip`,
      'artifact-id': '7',
      'artifact-url': 'https://github.com/plant/backups/actions/runs/5/artifacts/7',
      'artifact-digest': 'sha256:d1'
    })
    expect(core.outputs['zip-path']).toBe(path.join(core.inputs.path, `octoplant-export-${name}.zip`))
    expect(Number(core.outputs['zip-size'])).toBeGreaterThan(300)
    expect(core.outputs['zip-sha256']).toMatch(/^[0-9a-f]{64}$/)
    expect(uploads[0][3]).toEqual({ skipArchive: true, retentionDays: 10 })
    expect(core.outputs['error-message']).toBeUndefined()
    expect(core.summaryText).toContain('✅ octoplant export succeeded')
    expect(core.summaryText).toContain('`jobList.csv`')
    // Masked before use: the password, the client secret and the token the server issued.
    expect(core.secrets.slice(0, 2)).toEqual(['change-it', PUBLIC_CLIENT_SECRET])
    expect(core.secrets).toHaveLength(3)
    expect(sim.count('POST /v1/order')).toBe(1)
    expect(sim.count('GET /v1/order/{name}/download')).toBe(1)
  })

  it('reports a failed order with its gRPC code and message, and still sets order-name and state', async () => {
    const sim = await simulator({ failWith: { code: 13, message: 'archive unreadable' } })
    const { core, deps } = setup(sim)
    await run(deps)
    const name = core.outputs['order-name']
    expect(core.failed).toBe(`order ${name} failed on the server during "Pack ZIP": INTERNAL: archive unreadable`)
    expect(core.outputs.state).toBe('STATE_FAILED')
    expect(core.outputs['error-message']).toBe(core.failed)
    expect(sim.count('GET /v1/order/{name}/download')).toBe(0)
    expect(core.summaryText).toContain('❌ octoplant export failed')
  })

  it('cancels the order on the server when the deadline passes', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const { core, deps } = setup(sim, { timeout: '2s' })
    await run(deps)
    const name = core.outputs['order-name']
    expect(core.failed).toMatch(/^the order was not done after 2s \(last state STATE_RUNNING\): the timeout input was reached/)
    expect(core.outputs.state).toBe('STATE_RUNNING')
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(1)
    expect(sim.orders.get(name)?.cancelledAt).toBeDefined()
  })

  it('leaves the order running with cancel-on-timeout false, and says how to resume it', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const { core, deps } = setup(sim, { timeout: '1s', 'cancel-on-timeout': 'false' })
    await run(deps)
    expect(core.failed).toMatch(/timeout input was reached/)
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(0)
    expect(core.logs).toContain(`warning: Order ${core.outputs['order-name']} is left running on the server (cancel-on-timeout: false); resume it with order-name: ${core.outputs['order-name']}.`)
  })

  it('cancels the order when the job is cancelled', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const { core, deps, job } = setup(sim)
    setTimeout(() => job.abort(new CancelledError('SIGINT')), 700)
    await run(deps)
    expect(core.failed).toMatch(/^the job was cancelled \(SIGINT\) after \d+ms$/)
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(1)
    expect(core.outputs['order-name']).toBeDefined()
  })

  it('resumes an existing order without placing a new one', async () => {
    const sim = await simulator()
    const first = setup(sim, { timeout: '1s', 'cancel-on-timeout': 'false', 'upload-artifact': 'false' })
    sim.options.runningMs = 1500
    await run(first.deps)
    const name = first.core.outputs['order-name']
    const { core, deps } = setup(sim, { 'order-name': name, 'upload-artifact': 'false' })
    await run(deps)
    expect(core.failed).toBeUndefined()
    expect(core.outputs['order-name']).toBe(name)
    expect(core.outputs.state).toBe('STATE_SUCCEEDED')
    expect(sim.count('POST /v1/order')).toBe(1)
    expect(core.summaryText).toContain('(resumed)')
  })

  it('fails plainly on a wrong password, without ordering', async () => {
    const sim = await simulator()
    const { core, deps } = setup(sim, { password: 'hunter2' })
    await run(deps)
    expect(core.failed).toMatch(/^octoplant refused to sign in user "versiondog"/)
    expect(core.outputs['order-name']).toBeUndefined()
    expect(sim.count('POST /v1/oauth2/token')).toBe(1)
    expect(sim.count('POST /v1/order')).toBe(0)
  })

  it('refuses bad input before any connection', async () => {
    const sim = await simulator()
    const { core, deps } = setup(sim, { 'export-contents': '{"projectTre": {}}' })
    await run(deps)
    expect(core.failed).toBe(`Input 'export-contents' unknown export kind "projectTre" (did you mean "projectTree"?)`)
    expect(core.outputs['error-message']).toBe(core.failed)
    expect(sim.requests).toHaveLength(0)
  })

  it('refuses to start an upload on GitHub Enterprise Server, before any connection', async () => {
    const sim = await simulator()
    const { core, deps } = setup(sim, {}, { ...uploadEnv, GITHUB_SERVER_URL: 'https://github.plant.corp' })
    await run(deps)
    expect(core.failed).toMatch(/not supported on GitHub Enterprise Server .* set upload-artifact: false/)
    expect(sim.requests).toHaveLength(0)
  })

  it('skips the upload with a notice where there is no artifact service, and extracts when asked', async () => {
    const sim = await simulator()
    const { core, deps, uploads } = setup(sim, { extract: 'true' })
    await run(deps)
    expect(core.failed).toBeUndefined()
    expect(uploads).toHaveLength(0)
    expect(core.logs.some(l => l.startsWith('notice: Artifact upload skipped: no artifact service here'))).toBe(true)
    expect(core.outputs['artifact-id']).toBeUndefined()
    expect(core.outputs['extract-path']).toBe(path.join(core.inputs.path, core.outputs['order-name']))
    expect(existsSync(path.join(core.outputs['extract-path'], 'contents.json'))).toBe(true)
  })
})
