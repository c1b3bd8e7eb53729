// run() in process, with a recording core and injected artifact client, against the simulator.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import * as tls from 'node:tls'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fakeCore, simulatorInputs } from '../__fixtures__/core.js'
import { makeZip } from '../__fixtures__/zips.js'
import { errorAfterZip, statuses } from '../simulator/faults.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server.js'
import { type ArtifactClientLike, loadArtifactClient } from '../src/action/artifact.js'
import { systemClock } from '../src/base/clock.js'
import { CancelledError } from '../src/engine/export.js'
import { run, type RunDeps } from '../src/action/main.js'
import { PUBLIC_CLIENT_SECRET } from '../protocol/protocol.js'

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
  const core = fakeCore(simulatorInputs(sim, inputs))
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
    env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: tmpdir(), ...env },
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
    expect(core.failed).toBe(
      `the order was not done after 2s (last state STATE_RUNNING): the timeout input was reached. Order ${name} was cancelled on the server; run again to export anew.`
    )
    expect(core.summaryText).toContain(`| Order | \`${name}\` — cancelled on the server |`)
    expect(core.outputs.state).toBe('STATE_RUNNING')
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(1)
    expect(sim.orders.get(name)?.cancelledAt).toBeDefined()
  })

  it('leaves the order running with cancel-on-timeout false, and says how to resume it', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const { core, deps } = setup(sim, { timeout: '1s', 'cancel-on-timeout': 'false' })
    await run(deps)
    const name = core.outputs['order-name']
    expect(core.failed).toMatch(
      new RegExp(`timeout input was reached\\. Order ${name} is left running on the server \\(cancel-on-timeout: false\\); re-run with order-name: ${name} to resume it\\.$`)
    )
    expect(core.outputs['error-message']).toBe(core.failed)
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(0)
    expect(core.summaryText).toContain(`> ${core.failed}`)
    expect(core.summaryText).toContain(`| Order | \`${name}\` — left running on the server; resume with \`order-name: ${name}\` |`)
  })

  it('cancels the order when the job is cancelled', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const { core, deps, job } = setup(sim)
    setTimeout(() => job.abort(new CancelledError('SIGINT')), 700)
    await run(deps)
    expect(core.failed).toMatch(/^the job was cancelled \(SIGINT\) after \d+ms\. Order [\w-]+ was cancelled on the server; run again to export anew\.$/)
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

  it('on GitHub Enterprise Server without an artifact service, keeps the export and says what the administrator must enable', async () => {
    const sim = await simulator()
    const { core, deps } = setup(sim, {}, { ...uploadEnv, GITHUB_SERVER_URL: 'https://github.plant.corp', ACTIONS_RUNTIME_URL: '' })
    deps.loadArtifactClient = () => loadArtifactClient(deps.env)
    await run(deps)
    expect(core.failed).toMatch(/ACTIONS_RUNTIME_URL is not set: this runner offers no artifact service\. On GitHub Enterprise Server the site administrator must enable Actions storage/)
    expect(core.failed).not.toContain('403')
    expect(core.failed).toContain(`The file stays at ${core.outputs['zip-path']}`)
    expect(core.failed).toMatch(/re-run with order-name: \S+/)
    expect(statSync(core.outputs['zip-path']).size).toBe(Number(core.outputs['zip-size']))
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

describe('nothing lost once the export has finished; every failure says what to do next', () => {
  it('refuses a path it cannot write to, naming the input, before any connection', async () => {
    const sim = await simulator()
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'run-')), 'a-file')
    writeFileSync(file, '')
    const { core, deps } = setup(sim, { path: path.join(file, 'backups') })
    await run(deps)
    expect(core.failed).toMatch(new RegExp(`^Input 'path' must be a folder the runner can write to; ${file}/backups is not \\(ENOTDIR: not a directory`))
    expect(core.failed).toContain("Choose a folder the runner's user may write to")
    expect(sim.requests).toHaveLength(0)
  })

  it('refuses a timeout the runtime cannot wait for, before any connection', async () => {
    const sim = await simulator()
    const { core, deps } = setup(sim, { timeout: '30d' })
    await run(deps)
    expect(core.failed).toBe(`Input 'timeout' must be at most 24d (the longest wait the runtime can time, 2^31-1 ms); got "30d"`)
    expect(sim.requests).toHaveLength(0)
  })

  it('names the order and the way back when the download keeps failing', async () => {
    const sim = await simulator()
    sim.intercept(errorAfterZip(100))
    const { core, deps } = setup(sim)
    await run(deps)
    const name = core.outputs['order-name']
    expect(core.outputs['error-message']).toMatch(
      new RegExp(`^the download failed 5 times; .*\\. The export is finished on the server; re-run with order-name: ${name} to fetch it without exporting again\\.$`)
    )
    expect(core.summaryText).toContain(`| Order | \`${name}\` — finished on the server; fetch it again with \`order-name: ${name}\` |`)
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(0)
  })

  it('shows progress outside any collapsed group: state changes, the download with its size, time, rate and check time apart', async () => {
    const sim = await simulator({ downloadFraming: 'content-length', compress: false, payloadBytes: 200_000 })
    const { core, deps } = setup(sim)
    await run(deps)
    expect(core.failed).toBeUndefined()
    expect(core.logs.filter(l => l.startsWith('group:'))).toEqual([])
    expect(core.logs.some(l => /^\d+(ms|s): STATE_(PENDING|RUNNING)/.test(l))).toBe(true)
    // 200,000 payload bytes, stored, and the project tree's small files: a size the server announced.
    expect(core.logs.filter(l => l.startsWith('Downloading'))).toEqual(['Downloading the export (197.3 KiB).'])
    expect(core.logs.find(l => l.startsWith('Saved '))).toMatch(
      /^Saved .*: 197\.3 KiB \(\d+ bytes\), sha256 [0-9a-f]{64}, 9 entries, CRCs verified\. Received in \d+\.\d\ds \([\d.]+ (KiB|MiB|GiB)\/s\), checked in \d+\.\d\ds\.$/
    )
  })
})

describe('one deadline for everything', () => {
  it('bounds the artifact upload too: a store that takes 8 s ends the run at timeout: 3s', async () => {
    const sim = await simulator()
    const { core, deps } = setup(sim, { timeout: '3s' }, uploadEnv)
    deps.loadArtifactClient = async () => ({ uploadArtifact: () => new Promise(resolve => setTimeout(() => resolve({ id: 1 }), 8000).unref()) })
    const started = Date.now()
    await run(deps)
    const name = core.outputs['order-name']
    expect(Date.now() - started).toBeLessThan(4500)
    expect(core.failed).toBe(
      `gave up after 3s: the timeout input was reached. The export is finished on the server; re-run with order-name: ${name} to fetch it without exporting again.`
    )
    expect(core.outputs['zip-path']).toBeDefined()
    expect(core.outputs['artifact-id']).toBeUndefined()
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(0)
  })
})

describe('connection mistakes, each in one sentence', () => {
  it('https:// to a port that speaks plain HTTP', async () => {
    const sim = await simulator({ protocol: 'http' })
    const { core, deps } = setup(sim, { 'server-url': sim.url.replace('http:', 'https:') })
    await run(deps)
    expect(core.failed).toMatch(/^the server-url input says https:\/\/ but 127\.0\.0\.1:\d+ answers in plain HTTP, not TLS: use the octoplant API's TLS port \(64023 by default\) or, if this server really has no TLS, http:\/\/ .*\[.*wrong version number/)
  })

  it('http:// to a port that speaks TLS, without five bare resets', async () => {
    const sim = await simulator()
    const { core, deps } = setup(sim, { 'server-url': sim.url.replace('https:', 'http:') })
    await run(deps)
    expect(core.failed).toMatch(/^the server-url input says http:\/\/ but 127\.0\.0\.1:\d+ speaks TLS: use https:\/\/ there \[could not reach .*ECONNRESET/)
    expect(core.logs.filter(l => l.includes('retrying'))).toEqual([])
  })

  it('a 404 from the token endpoint points at server-url and a reverse proxy\'s path prefix', async () => {
    const sim = await simulator()
    sim.intercept(statuses('POST /v1/oauth2/token', [404], { code: 5, message: 'Not Found' }))
    const { core, deps } = setup(sim)
    await run(deps)
    expect(core.failed).toBe(
      "the server at the server-url input answered, but has no octoplant API at that address: check it (octoplant's API listens on port 64023 by default; " +
        "behind a reverse proxy, the address needs the proxy's path prefix, e.g. https://host/octoplant) [POST /v1/oauth2/token failed: NOT_FOUND (HTTP 404): Not Found]"
    )
  })
})

describe('a disk too small for the export (a 1 MiB tmpfs)', () => {
  const mount = path.join(tmpdir(), `octoplant-tmpfs-${process.pid}`)
  // Root here and in .ci/run; GitHub's runners are not root but have password-less sudo.
  const asRoot = (command: string, args: string[]) =>
    process.getuid?.() === 0 ? execFileSync(command, args) : execFileSync('sudo', ['-n', command, ...args])
  beforeAll(() => {
    mkdirSync(mount, { recursive: true })
    asRoot('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=1777', 'tmpfs', mount])
  })
  afterAll(() => {
    asRoot('umount', [mount])
    rmSync(mount, { recursive: true, force: true })
  })

  it('fails before writing when the announced size does not fit, with sizes, path and the way back, and leaves no file', async () => {
    const sim = await simulator({ downloadFraming: 'content-length', compress: false, payloadBytes: 3_000_000 })
    const { core, deps } = setup(sim, { path: mount, extract: 'true' })
    await run(deps)
    const name = core.outputs['order-name']
    expect(core.failed).toMatch(
      new RegExp(
        `^not enough free disk space in ${mount}: the export needs 5\\.\\d\\d MiB \\(the ZIP twice, since extract: true\\) and 1\\.00 MiB are free\\. ` +
          `Free space there, or set the path input to a folder on a larger disk\\. The export is finished on the server; re-run with order-name: ${name} to fetch it without exporting again\\.$`
      )
    )
    expect(readdirSync(mount)).toEqual([])
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(0)
    expect(core.summaryText).toContain(`> ${core.failed}`)
  })

  it('refuses to extract a ZIP that fits but whose entries do not, before writing one of them, and keeps nothing of the run', async () => {
    // About 10 KB deflated, 10 MB uncompressed: the ZIP fits the 1 MiB disk, its extraction cannot.
    const zip = path.join(mkdtempSync(path.join(tmpdir(), 'bomb-')), 'export.zip')
    writeFileSync(zip, await makeZip({ 'contents.json': '{}', 'Plant/big.bin': 'x'.repeat(10_000_000) }))
    const sim = await simulator({ exportFile: zip })
    const { core, deps } = setup(sim, { path: mount, extract: 'true' })
    await run(deps)
    expect(core.failed).toMatch(
      new RegExp(`^not enough free disk space in ${mount} to extract the export: its entries hold 9\\.\\d\\d MiB uncompressed and [\\d.]+ (KiB|MiB) are free\\. Free space there`)
    )
    expect(core.failed).toMatch(/The export is finished on the server; re-run with order-name: \S+ to fetch it without exporting again\.$/)
    expect(readdirSync(mount)).toEqual([])
  })

  it('says in words when the disk fills during a streamed download, and removes the partial file', async () => {
    const sim = await simulator({ compress: false, payloadBytes: 3_000_000 })
    const { core, deps } = setup(sim, { path: mount })
    await run(deps)
    const name = core.outputs['order-name']
    expect(core.failed).toMatch(
      new RegExp(
        `^the disk filled up while saving the export in ${mount}: [\\d.]+ (KiB|MiB) had arrived, the ZIP needs more, and [\\d.]+ (B|KiB) were free\\. ` +
          `The partial file was removed\\. Free space there, or set the path input to a folder on a larger disk\\. The export is finished on the server; re-run with order-name: ${name} to fetch it without exporting again\\.$`
      )
    )
    expect(readdirSync(mount)).toEqual([])
    expect(sim.count('GET /v1/order/{name}/download')).toBe(1)
  })
})
