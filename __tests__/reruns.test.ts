// Evidence across re-runs, as a plant that backs up every night into the same folder: the gate never
// compares an export with itself, a failed night keeps the last good set whole, the way back works,
// the deadline and Ctrl-C reach the evidence phase, and bad evidence input is refused up front. The
// bundled command and the bundled Action, against the simulator (and a hostile server for ZIPs the
// simulator would never send).
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../__fixtures__/cli-process.js'
import { type HostileServer, startHostileServer } from '../__fixtures__/hostile-server.js'
import { makeZip } from '../__fixtures__/zips.js'
import { runLocally } from '../scripts/local-runner.js'
import { type Simulator, type SimulatorOptions, startSimulator } from '../simulator/server.js'
import { compareWithPrevious } from '../src/engine/evidence/changes.js'
import { RECORD_SCHEMA_ID } from '../src/engine/evidence/record.js'

const password = 'night-shift-pass'
let stops: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(stops.map(s => s()))
  stops = []
})
async function simulator(o: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ pendingMs: 50, runningMs: 150, users: { backup: password }, ...o })
  stops.push(() => sim.stop())
  return sim
}
async function hostile(zip: Buffer): Promise<HostileServer> {
  const server = await startHostileServer({ zip })
  stops.push(() => server.stop())
  return server
}

/** The command against a server, in `cwd`, with the sign-in in variables. */
function night(server: { url: string; caPem?: string }, args: string[], cwd: string, env: Record<string, string> = {}) {
  if (server.caPem) writeFileSync(path.join(cwd, 'ca.pem'), server.caPem)
  return runCli(args, {
    cwd,
    env: { OCTOPLANT_SERVER_URL: server.url, OCTOPLANT_USERNAME: server.caPem ? 'backup' : 'u', OCTOPLANT_PASSWORD: password, ...(server.caPem ? { OCTOPLANT_CA_CERTIFICATE: 'ca.pem' } : {}), ...env }
  })
}

const folder = () => mkdtempSync(path.join(tmpdir(), 'nightly-'))

/** Every file below `dir` with the SHA-256 of its bytes. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter(d => d.isFile())
      .map(d => {
        const file = path.join(d.parentPath, d.name)
        return [path.relative(dir, file), createHash('sha256').update(readFileSync(file)).digest('hex')]
      })
  )
}

describe('a nightly in one folder', () => {
  it.each(['plant.record.json', 'plant.zip'])('finds the change against yesterday\'s %s standing where tonight\'s goes, and the gate fails', async previous => {
    const sim = await simulator({ changingTree: true })
    const cwd = folder()
    const first = await night(sim, ['--artifact-name', 'plant', '--path', 'backup'], cwd)
    expect(first.code, first.stderr).toBe(0)
    const yesterday = readFileSync(path.join(cwd, 'backup', previous))
    const second = await night(sim, ['--artifact-name', 'plant', '--path', 'backup', '--compare-with', `backup/${previous}`, '--fail-on', 'changes'], cwd)
    expect(second.code, second.stderr).toBe(3)
    expect(second.json).toMatchObject({ 'entries-added': '1', 'entries-removed': '1', 'entries-changed': '1' })
    // Tonight's set is in place now; yesterday's was read before a byte of it was written.
    expect(readFileSync(path.join(cwd, 'backup', previous)).equals(yesterday)).toBe(false)
    const record = JSON.parse(readFileSync(path.join(cwd, 'backup', 'plant.record.json'), 'utf8')) as { zip: { sha256: string } }
    expect(record.zip.sha256).toBe(second.json['zip-sha256'])
  })

  it('the Action does the same with compare-with on the record in path', async () => {
    const sim = await simulator({ changingTree: true })
    const out = folder()
    const inputs = { 'server-url': sim.url, username: 'backup', password, 'ca-certificate': sim.caPem!, path: out, 'artifact-name': 'plant', timeout: '20s' }
    expect((await runLocally({ inputs })).code).toBe(0)
    const run = await runLocally({ inputs: { ...inputs, 'compare-with': path.join(out, 'plant.record.json'), 'fail-on': 'changes' } })
    expect(run.code).toBe(1)
    expect(run.outputs).toMatchObject({ 'entries-added': '1', 'entries-removed': '1', 'entries-changed': '1' })
    expect(run.outputs['error-message']).toMatch(/^fail-on: changes: 3 entries differ/)
  })
})

describe('a failed night keeps the last good set whole', () => {
  it('when the download is not a ZIP', async () => {
    const sim = await simulator()
    const cwd = folder()
    expect((await night(sim, ['--artifact-name', 'plant', '--path', 'backup', '--extract'], cwd)).code).toBe(0)
    const before = snapshot(path.join(cwd, 'backup'))
    sim.intercept((_req, res, route) => {
      if (route !== 'GET /v1/order/{name}/download') return false
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>')
      return true
    })
    const failed = await night(sim, ['--artifact-name', 'plant', '--path', 'backup', '--extract'], cwd)
    expect(failed.code).toBe(1)
    expect(snapshot(path.join(cwd, 'backup'))).toEqual(before)
  })

  it('when extraction fails after the ZIP was checked', async () => {
    const cwd = folder()
    const good = await hostile(await makeZip({ 'contents.json': '{}', 'Plant/a.txt': 'a' }))
    expect((await night(good, ['--artifact-name', 'plant', '--path', 'backup', '--extract'], cwd)).code).toBe(0)
    const before = snapshot(path.join(cwd, 'backup'))
    const clash = await hostile(await makeZip({ 'contents.json': '{}', 'Plant/a.txt': 'b', Plant: 'a file where a folder is' }))
    const failed = await night(clash, ['--artifact-name', 'plant', '--path', 'backup', '--extract'], cwd)
    expect(failed.code).toBe(1)
    expect(failed.json['error-message']).toMatch(/"Plant" is a file in the ZIP and also a folder/)
    expect(snapshot(path.join(cwd, 'backup'))).toEqual(before)
  })
})

describe('the way back works', () => {
  it('re-running with --order-name after an extraction replaces it, with no EEXIST', async () => {
    const sim = await simulator()
    const cwd = folder()
    const first = await night(sim, ['--path', 'backup', '--extract'], cwd)
    expect(first.code, first.stderr).toBe(0)
    const again = await night(sim, ['--path', 'backup', '--extract', '--order-name', first.json['order-name']], cwd)
    expect(again.code, again.stderr).toBe(0)
    expect(again.json['extract-path']).toBe(first.json['extract-path'])
    expect(readdirSync(path.join(cwd, 'backup')).filter(f => f.includes('.partial'))).toEqual([])
  })

  it('an unknown order is told in one sentence, with no advice to resume it', async () => {
    const sim = await simulator()
    const run = await night(sim, ['--order-name', '0b4a1f9e-6c3d-4e8a-9f2b-1c2d3e4f5a6b'], folder())
    expect(run.code).toBe(1)
    expect(run.json['error-message']).toMatch(/^the server does not know order "0b4a1f9e-6c3d-4e8a-9f2b-1c2d3e4f5a6b"/)
    expect(run.json['error-message']).not.toMatch(/may still be running|to resume it/)
  })

  it('a ZIP that holds a name twice is refused even when nothing is extracted', async () => {
    const zip = await makeZip({ 'contents.json': '{}', 'Plant/a.txt': 'one', 'Plant/b.txt': 'two' })
    const twice = Buffer.from(zip.toString('latin1').replaceAll('Plant/b.txt', 'Plant/a.txt'), 'latin1')
    const run = await night(await hostile(twice), ['--path', 'backup'], folder())
    expect(run.code).toBe(1)
    expect(run.json['error-message']).toMatch(/refusing the ZIP: it holds "Plant\/a.txt" twice/)
  })
})

describe('the deadline and Ctrl-C reach the evidence phase', () => {
  let big: string
  beforeAll(() => {
    // A valid previous record of 400,000 entries on one line, as `jq -c` writes it: about 60 MB.
    const dir = mkdtempSync(path.join(tmpdir(), 'record-'))
    big = path.join(dir, 'plant.record.json')
    const entry = (i: number) => ({ path: `Plant/Line ${i % 40}/Device ${i}/program.s7p`, size: i, crc32: '0000abcd', sha256: 'ab'.repeat(32) })
    const head = { $schema: RECORD_SCHEMA_ID, server: { url: 'https://elsewhere' }, order: { name: 'yesterday' }, finishedAt: '2026-12-04T01:30:00.000Z' }
    const entries = Array.from({ length: 400_000 }, (_, i) => JSON.stringify(entry(i))).join(',')
    writeFileSync(big, `${JSON.stringify(head).slice(0, -1)},"entries":[${entries}]}\n`)
  })

  it('reads a one-line 60 MB record in linear time (well within a 30 s deadline)', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'changes-')), 'changes.json')
    const current = (async function* () {
      yield { path: 'Plant/new.s7p', size: 1, crc32: '00000001', sha256: 'cd'.repeat(32) }
    })()
    const started = performance.now()
    const report = await compareWithPrevious(big, current, out, AbortSignal.timeout(30_000))
    console.log(`one-line record of ${(readFileSync(big).length / 1e6).toFixed(0)} MB compared in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    expect(report.counts).toMatchObject({ added: 1, removed: 400_000 })
  })

  it('Ctrl-C during the comparison exits 130 with the JSON', async () => {
    const sim = await simulator()
    const cwd = folder()
    writeFileSync(path.join(cwd, 'ca.pem'), sim.caPem!)
    let sent = false
    const run = await runCli(['--compare-with', big], {
      cwd,
      env: { OCTOPLANT_SERVER_URL: sim.url, OCTOPLANT_USERNAME: 'backup', OCTOPLANT_PASSWORD: password, OCTOPLANT_CA_CERTIFICATE: 'ca.pem' },
      onStderr: (text, pid) => {
        if (!sent && text.includes('Comparing with')) {
          sent = true
          process.kill(pid, 'SIGINT')
        }
      }
    })
    expect(sent).toBe(true)
    expect(run.code, run.stderr).toBe(130)
    expect(run.json['error-message']).toMatch(/the job was cancelled \(SIGINT\)/)
    expect(run.json['zip-path']).toBeUndefined()
    expect(readdirSync(path.join(cwd, 'octoplant-export'))).toEqual([])
  })
})

describe('a second Ctrl-C while the cancel is slow', () => {
  it('still prints the JSON, saying the cancel was sent but not answered, and exits 130', async () => {
    const sim = await simulator({ pendingMs: 5000 })
    sim.intercept(async (_req, res, route) => {
      if (route !== 'POST /v1/order/{name}/cancel') return false
      await new Promise(resolve => setTimeout(resolve, 4000))
      res.writeHead(200).end('{}')
      return true
    })
    const cwd = folder()
    writeFileSync(path.join(cwd, 'ca.pem'), sim.caPem!)
    let interrupts = 0
    const run = await runCli([], {
      cwd,
      env: { OCTOPLANT_SERVER_URL: sim.url, OCTOPLANT_USERNAME: 'backup', OCTOPLANT_PASSWORD: password, OCTOPLANT_CA_CERTIFICATE: 'ca.pem' },
      onStderr: (text, pid) => {
        if (interrupts === 0 && text.includes('placed')) {
          interrupts++
          process.kill(pid, 'SIGINT')
          setTimeout(() => (interrupts++, process.kill(pid, 'SIGINT')), 500)
        }
      }
    })
    expect(interrupts).toBe(2)
    expect(run.code, run.stderr).toBe(130)
    expect(run.json['error-message']).toMatch(/left running on the server \(the cancel request was sent, but a second interrupt stopped the wait for its answer\)/)
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(1)
  })
})

describe('bad evidence input is refused before any connection', () => {
  it.each([
    ['an empty file', '', /^--compare-with \(or OCTOPLANT_COMPARE_WITH\) cannot be compared with: .* is neither a ZIP nor an export record/],
    ['random bytes', '\u0007\u0001garbage', /neither a ZIP nor an export record/],
    ['JSON that is no record', '{"a": 1}', /not an export record of this tool/]
  ])('--compare-with naming %s', async (_what, text, message) => {
    const sim = await simulator()
    const cwd = folder()
    writeFileSync(path.join(cwd, 'previous.json'), text)
    const run = await night(sim, ['--compare-with', 'previous.json'], cwd)
    expect(run.code).toBe(2)
    expect(run.json['error-message']).toMatch(message)
    expect(sim.requests).toEqual([])
  })

  it('a record of another server: a warning, or with --fail-on changes a refusal', async () => {
    const sim = await simulator()
    const cwd = folder()
    const record = { $schema: RECORD_SCHEMA_ID, server: { url: 'https://other.plant:64023' }, entries: [] }
    writeFileSync(path.join(cwd, 'other.record.json'), JSON.stringify(record))
    const gated = await night(sim, ['--compare-with', 'other.record.json', '--fail-on', 'changes'], cwd)
    expect(gated.code).toBe(2)
    expect(gated.json['error-message']).toMatch(/is an export of https:\/\/other\.plant:64023, not of https:\/\/127\.0\.0\.1:\d+: --fail-on changes cannot judge/)
    expect(sim.requests).toEqual([])
    const warned = await night(sim, ['--compare-with', 'other.record.json'], cwd)
    expect(warned.code, warned.stderr).toBe(0)
    expect(warned.stderr).toMatch(/warning: --compare-with \S*other\.record\.json is an export of https:\/\/other\.plant:64023/)
  })

  it('the Action names its input for the same refusal', async () => {
    const sim = await simulator()
    const out = folder()
    writeFileSync(path.join(out, 'previous.json'), '')
    const run = await runLocally({ inputs: { 'server-url': sim.url, username: 'backup', password, 'ca-certificate': sim.caPem!, path: out, 'compare-with': path.join(out, 'previous.json') } })
    expect(run.code).toBe(1)
    expect(run.outputs['error-message']).toMatch(/^Input 'compare-with' cannot be compared with/)
    expect(sim.requests).toEqual([])
  })

  it('the command reads no Action-only variable, warns that --order-name leaves export contents unused, and refuses a long artifact name', async () => {
    const sim = await simulator()
    const gate = await night(sim, ['--fail-on', 'changes'], folder(), { OCTOPLANT_COMPARE_WITH_PREVIOUS: 'true' })
    expect(gate.code).toBe(2)
    expect(gate.json['error-message']).toMatch(/"changes" needs a previous export to compare with: set --compare-with$/)
    const retention = await night(sim, [], folder(), { OCTOPLANT_RETENTION_DAYS: 'abc' })
    expect(retention.code, retention.stderr).toBe(0)
    const placed = sim.count('POST /v1/order')
    const both = await night(sim, ['--order-name', 'o-1', '--export-contents', '{"jobList": {}}'], folder())
    expect(both.stderr).toMatch(/warning: --order-name o-1 fetches an order that exists: --export-contents is not used, and no new order is placed/)
    expect(sim.count('POST /v1/order')).toBe(placed)
    const long = await night(sim, ['--artifact-name', 'n'.repeat(300)], folder())
    expect(long.code).toBe(2)
    expect(long.json['error-message']).toMatch(/must be at most 200 bytes/)
    expect(sim.count('POST /v1/oauth2/token')).toBe(2)
  })
})
