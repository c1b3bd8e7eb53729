// The octoplant-export command: the bundled dist/cli/index.js and the packed tarball installed into
// an empty folder, run as a person or another CI system runs them, against the simulator.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { npm, packTarball } from '../__fixtures__/pack.js'
import { bundled } from '../scripts/local-runner.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server.js'
import { systemClock } from '../src/base/clock.js'
import { main } from '../src/cli/main.js'

const BUNDLE = bundled('cli/index.js')
const password = `pw-${randomBytes(10).toString('hex')}`

let sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.map(s => s.stop()))
  sims = []
})
async function simulator(o: SimulatorOptions = {}) {
  const sim = await startSimulator({ pendingMs: 100, runningMs: 400, users: { 'PLANT\\backup': password }, ...o })
  sims.push(sim)
  return sim
}

interface Ran {
  code: number | null
  stdout: string
  stderr: string
  cwd: string
}

/** Runs a command with the simulator's settings in OCTOPLANT_* variables, as a CI system passes them. */
async function runCli(command: string[], sim: Simulator | undefined, o: { env?: Record<string, string>; onStart?: (pid: number) => void } = {}): Promise<Ran> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'cli-'))
  if (sim) writeFileSync(path.join(cwd, 'ca.pem'), sim.caPem!)
  const env = {
    PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
    HOME: process.env.HOME,
    ...(sim ? { OCTOPLANT_SERVER_URL: sim.url, OCTOPLANT_USERNAME: 'PLANT\\backup', OCTOPLANT_CA_CERTIFICATE: 'ca.pem' } : {}),
    ...o.env
  }
  const child = spawn(command[0], command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  if (child.pid) o.onStart?.(child.pid)
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const code = await new Promise<number | null>(resolve => child.on('exit', c => resolve(c)))
  clearTimeout(killer)
  return { code, stdout, stderr, cwd }
}

/** stdout holds exactly one JSON document. */
function document(run: Ran): Record<string, unknown> {
  return JSON.parse(run.stdout) as Record<string, unknown>
}

function expectClean(run: Ran, sim: Simulator) {
  const all = run.stdout + run.stderr
  expect(all).not.toContain(password)
  for (const token of sim.issuedTokens) expect(all).not.toContain(token)
  expect(all).not.toMatch(/^::/m)
}

describe('octoplant-export, bundled', () => {
  it('exports, verifies and prints one JSON document with the Action\'s output names', async () => {
    const sim = await simulator()
    const run = await runCli([process.execPath, BUNDLE, '--extract'], sim, { env: { OCTOPLANT_PASSWORD: password } })
    expect(run.code, run.stderr).toBe(0)
    const out = document(run)
    expect(Object.keys(out)).toEqual(['order-name', 'state', 'zip-path', 'zip-size', 'zip-sha256', 'extract-path', 'record-path', 'manifest-path'])
    expect(out.state).toBe('STATE_SUCCEEDED')
    expect(out['zip-path']).toBe(path.join(run.cwd, 'octoplant-export', `octoplant-export-${out['order-name'] as string}.zip`))
    expect(existsSync(path.join(out['extract-path'] as string, 'contents.json'))).toBe(true)
    expect(run.stderr).toMatch(/STATE_SUCCEEDED/)
    expect(run.stderr).toMatch(/Received in [\d.]+s \([\d.]+ \w+\/s\), checked in/)
    expectClean(run, sim)
  })

  it('reads the password from --password-file, and fails a wrong one with exit 1 and the message in the JSON', async () => {
    const sim = await simulator()
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'pw-')), 'password')
    writeFileSync(file, 'not-the-password\n')
    const run = await runCli([process.execPath, BUNDLE, '--password-file', file], sim)
    expect(run.code).toBe(1)
    expect(document(run)['error-message']).toMatch(/^octoplant refused to sign in user "PLANT\\backup"/)
    expect(sim.count('POST /v1/order')).toBe(0)
  })

  it('ends by itself once it has answered: no forced exit, nothing left open, after an export and after a refusal', async () => {
    const probe = `--import=${new URL('../__fixtures__/loop-probe.mjs', import.meta.url).href}`
    const sim = await simulator()
    const exported = await runCli([process.execPath, BUNDLE, '--extract'], sim, { env: { OCTOPLANT_PASSWORD: password, NODE_OPTIONS: probe } })
    expect(exported.code, exported.stderr).toBe(0)
    expect(exported.stderr).toContain('loop-probe: the event loop emptied (exit code 0)')
    const refused = await runCli([process.execPath, BUNDLE, '--timeout', 'soon'], sim, { env: { OCTOPLANT_PASSWORD: password, NODE_OPTIONS: probe } })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('loop-probe: the event loop emptied (exit code 2)')
  })

  it('cancels the order on SIGTERM, as the Action does', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const run = await runCli([process.execPath, BUNDLE], sim, {
      env: { OCTOPLANT_PASSWORD: password },
      onStart: pid => {
        const wait = setInterval(() => {
          if (sim.count('GET /v1/order/{name}') >= 2) {
            clearInterval(wait)
            process.kill(pid, 'SIGTERM')
          }
        }, 20)
      }
    })
    // The shell's code for SIGTERM, after the JSON.
    expect(run.code).toBe(143)
    const out = document(run)
    expect(out['error-message']).toMatch(/^the job was cancelled \(SIGTERM\) after \d+(ms|s)\. Order [\w-]+ was cancelled on the server; run again to export anew\.$/)
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(1)
  })

  it('check signs in, reads the server and stops without ordering', async () => {
    const sim = await simulator({ maintenance: { active: true, reason: 'DISK_LOW' } })
    const run = await runCli([process.execPath, BUNDLE, 'check', '--export-contents', 'jobList: {exportType: EXPORT_TYPE_CSV}'], sim, {
      env: { OCTOPLANT_PASSWORD: password }
    })
    expect(run.code, run.stderr).toBe(0)
    expect(document(run)).toMatchObject({
      'signed-in': true,
      'server-version': 'octoplant API 1.2.0-release-5-c845dda7, versiondog 10.1.0-acf932ab',
      'maintenance-mode': expect.stringMatching(/^reason DISK_LOW/),
      'export-contents': { jobList: { exportType: 'EXPORT_TYPE_CSV' } }
    })
    expect(sim.count('POST /v1/order')).toBe(0)
    expectClean(run, sim)
  })

  it('prints its help', async () => {
    const run = await runCli([process.execPath, BUNDLE, '--help'], undefined)
    expect(run.code).toBe(0)
    for (const option of ['--server-url', '--username', '--client-id', '--client-secret', '--export-contents', '--order-file', '--order-name', '--timeout', '--max-poll-interval', '--cancel-on-timeout', '--path', '--extract', '--artifact-name', '--ca-certificate', '--insecure-skip-tls-verify', '--allow-insecure-http', '--password-file']) {
      expect(run.stdout).toContain(option)
    }
    expect(run.stdout).toContain('OCTOPLANT_SERVER_URL')
    expect(run.stdout).toContain('OCTOPLANT_PASSWORD')
  })
})

describe('octoplant-export refuses bad usage with exit 2, before any connection', () => {
  async function inProcess(argv: string[], env: Record<string, string> = {}) {
    const sim = await simulator()
    let stdout = ''
    let stderr = ''
    const code = await main({
      argv,
      env: { OCTOPLANT_SERVER_URL: sim.url, OCTOPLANT_USERNAME: 'u', ...env },
      cwd: mkdtempSync(path.join(tmpdir(), 'cli-')),
      stdout: t => void (stdout += t),
      stderr: t => void (stderr += t),
      readFile: f => readFileSync(f, 'utf8'),
      clock: systemClock,
      trustCertificates: () => undefined,
      version: 'test',
      nodeVersion: process.versions.node,
      host: { hostname: 'test-host' }
    })
    expect(sim.requests).toHaveLength(0)
    return { code, stdout, stderr, json: JSON.parse(stdout) as Record<string, string> }
  }

  it.each([
    ['a password as an argument', ['--password', 'secret'], {}, /^--password is not taken: process lists show arguments\. Set OCTOPLANT_PASSWORD, or pass --password-file FILE$/],
    ['no password', [], {}, /^OCTOPLANT_PASSWORD is required with --username: pass it from a secret, or sign in with OCTOPLANT_TOKEN \(or --token-file\) instead$/],
    ['a bad duration', ['--timeout', 'forever'], { OCTOPLANT_PASSWORD: 'pw' }, /^--timeout \(or OCTOPLANT_TIMEOUT\) must be a duration/],
    ['a bad duration from the environment', [], { OCTOPLANT_PASSWORD: 'pw', OCTOPLANT_TIMEOUT: '30d' }, /^--timeout \(or OCTOPLANT_TIMEOUT\) must be at most 24d/],
    ['a typo in the export contents', ['--export-contents', '{"projectTre": {}}'], { OCTOPLANT_PASSWORD: 'pw' }, /unknown export kind "projectTre" \(did you mean "projectTree"\?\)/],
    ['an unknown option', ['--servr-url', 'x'], { OCTOPLANT_PASSWORD: 'pw' }, /Unknown option '--servr-url'/],
    ['an unknown command', ['backup'], { OCTOPLANT_PASSWORD: 'pw' }, /^unknown command "backup"/]
  ])('%s', async (_, argv, env, message) => {
    const run = await inProcess(argv, env)
    expect(run.code).toBe(2)
    expect(run.json['error-message']).toMatch(message)
    expect(run.stderr).toContain('octoplant-export: ')
  })
})

describe('the packed tarball, installed into an empty folder', () => {
  let bin: string
  beforeAll(() => {
    const tarball = packTarball()
    const empty = path.join(path.dirname(tarball), 'empty')
    mkdirSync(empty)
    npm(['install', '--offline', '--no-save', tarball], empty)
    bin = path.join(empty, 'node_modules/.bin/octoplant-export')
  }, 120_000)

  it('exports from the simulator with OCTOPLANT_PASSWORD and prints the order and the ZIP\'s sha256, nothing secret', async () => {
    const sim = await simulator()
    const run = await runCli([bin], sim, { env: { OCTOPLANT_PASSWORD: password } })
    expect(run.code, run.stderr).toBe(0)
    const out = document(run)
    expect(out['order-name']).toMatch(/^[\w-]{36}$/)
    expect(out['zip-sha256']).toMatch(/^[0-9a-f]{64}$/)
    expect(readFileSync(out['zip-path'] as string).subarray(0, 2).toString()).toBe('PK')
    expectClean(run, sim)
  })

  it('exits non-zero on a wrong password', async () => {
    const sim = await simulator()
    const run = await runCli([bin], sim, { env: { OCTOPLANT_PASSWORD: 'wrong-password' } })
    expect(run.code).toBe(1)
    expect(document(run)['error-message']).toMatch(/refused to sign in/)
    expectClean(run, sim)
  })
})
