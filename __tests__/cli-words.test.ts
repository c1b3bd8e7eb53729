// The command speaks its own language: each failure the engine reports, driven through
// octoplant-export against the simulator, names settings as flags the command takes (--order-name X,
// --no-cancel-on-timeout), never as the Action's inputs.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { errorAfterZip, resetConnection } from '../simulator/faults.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server.js'
import { usage } from '../src/cli/main.js'
import { runCommand } from '../__fixtures__/command.js'
import { DEFAULTS } from '../src/shared/inputs.js'

let stops: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(stops.map(s => s()))
  stops = []
})

async function simulator(o: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ pendingMs: 50, runningMs: 200, ...o })
  stops.push(() => sim.stop())
  return sim
}

/** Runs the command in-process; the CA of `sim` is trusted unless `trust` is false. */
async function command(argv: string[], sim: { url: string; caPem?: string }, o: { trust?: boolean; password?: string } = {}) {
  const cwd = mkdtempSync(path.join(tmpdir(), 'cli-words-'))
  const env: Record<string, string> = { OCTOPLANT_SERVER_URL: sim.url, OCTOPLANT_USERNAME: 'versiondog', OCTOPLANT_PASSWORD: o.password ?? 'change-it' }
  if (sim.caPem && o.trust !== false) {
    writeFileSync(path.join(cwd, 'ca.pem'), sim.caPem)
    env.OCTOPLANT_CA_CERTIFICATE = 'ca.pem'
  }
  const run = await runCommand(argv, env, cwd)
  return { code: run.code, stderr: run.stderr, error: (run.json['error-message'] as string | undefined) ?? '' }
}

/** Every flag the command takes, from its own --help. */
const FLAGS = new Set([...usage('test').matchAll(/^\s+--([a-z-]+)/gm)].map(m => m[1]))
const SETTINGS = [...Object.keys(DEFAULTS), 'server-url', 'username', 'password', 'order-name', 'order-file', 'path', 'artifact-name', 'ca-certificate']

/** No Action wording, and every flag it names is one the command takes, in a form it accepts. */
function expectCommandWords(text: string) {
  expect(text).not.toMatch(/\binputs?\b/)
  for (const name of SETTINGS) {
    expect(text, name).not.toMatch(new RegExp(`(^|[^-\\w])${name}: `))
    expect(text, name).not.toContain(`--${name} false`)
    expect(text, name).not.toContain(`--${name} true`)
  }
  for (const [, negated, flag] of text.matchAll(/--(no-)?([a-z][a-z-]*)/g)) {
    expect(FLAGS.has(flag), `--${negated ?? ''}${flag} is not an option of the command`).toBe(true)
    if (negated) expect(usage('test')).toContain(`--no-${flag}`)
  }
}

describe('the command names its flags in every failure', () => {
  it('a timeout with --no-cancel-on-timeout: the order is left running, and --order-name fetches it', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const run = await command(['--timeout', '2s', '--no-cancel-on-timeout'], sim)
    expect(run.code).toBe(1)
    expect(run.error).toMatch(/: --timeout was reached\. Order [\w-]+ is left running on the server \(--no-cancel-on-timeout\); re-run with --order-name [\w-]+ to resume it\.$/)
    expectCommandWords(`${run.error}\n${run.stderr}`)
  })

  it('a timeout with the order cancelled', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const run = await command(['--timeout', '2s'], sim)
    expect(run.error).toMatch(/: --timeout was reached\. Order [\w-]+ was cancelled on the server; run again to export anew\.$/)
    expectCommandWords(`${run.error}\n${run.stderr}`)
  })

  it('a refused password', async () => {
    const sim = await simulator()
    const run = await command([], sim, { password: 'wrong' })
    expect(run.error).toContain('Check --username and OCTOPLANT_PASSWORD (or --password-file) (a domain account is DOMAIN\\user) and, if you changed them, --client-id and --client-secret.')
    expectCommandWords(`${run.error}\n${run.stderr}`)
  })

  it('an order the server does not know', async () => {
    const sim = await simulator()
    const run = await command(['--order-name', 'no-such-order'], sim)
    expect(run.error).toMatch(/check --order-name, or the order may have expired/)
    expectCommandWords(`${run.error}\n${run.stderr}`)
  })

  it('a certificate the command was not told to trust', async () => {
    const sim = await simulator()
    const run = await command([], sim, { trust: false })
    expect(run.error).toMatch(/trust the plant's CA with --ca-certificate \(PEM text or file\), or as a last resort --insecure-skip-tls-verify$/)
    expectCommandWords(`${run.error}\n${run.stderr}`)
  })

  it('https:// to a port that speaks plain HTTP', async () => {
    const sim = await simulator({ protocol: 'http' })
    const run = await command([], { url: sim.url.replace('http:', 'https:') })
    expect(run.error).toMatch(/^--server-url says https:\/\/ but .* http:\/\/ \(with --allow-insecure-http beyond loopback\)/)
    expectCommandWords(`${run.error}\n${run.stderr}`)
  })

  it('http:// to a port that speaks TLS', async () => {
    const sim = await simulator()
    const run = await command([], { url: sim.url.replace('https:', 'http:') })
    expect(run.error).toMatch(/^--server-url says http:\/\/ but 127\.0\.0\.1:\d+ speaks TLS: use https:\/\/ there/)
    expectCommandWords(`${run.error}\n${run.stderr}`)
  })

  it('a web server without the octoplant API at the address', async () => {
    const web = createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"code": 5, "message": "Not Found"}'))
    await new Promise<void>(resolve => web.listen(0, '127.0.0.1', resolve))
    stops.push(() => new Promise(resolve => web.close(() => resolve())))
    const run = await command([], { url: `http://127.0.0.1:${(web.address() as AddressInfo).port}` })
    expect(run.error).toMatch(/^the server at --server-url answered, but has no octoplant API at that address/)
    expectCommandWords(`${run.error}\n${run.stderr}`)
  })

  it('a download that keeps failing: the finished export is fetched with --order-name', async () => {
    const sim = await simulator()
    sim.intercept(errorAfterZip(99))
    const run = await command([], sim)
    expect(run.error).toMatch(/The export is finished on the server; re-run with --order-name [\w-]+ to fetch it without exporting again\.$/)
    expectCommandWords(`${run.error}\n${run.stderr}`)
  })

  it('an order whose placing may have reached the server', async () => {
    const sim = await simulator()
    sim.intercept(resetConnection('POST /v1/order', 1))
    const run = await command([], sim)
    expect(run.error).toMatch(/If octoplant shows the order, re-run with --order-name <its name>; otherwise re-run the job\.$/)
    expectCommandWords(`${run.error}\n${run.stderr}`)
  })

  it('a refusal before any connection names the flag and its variable', async () => {
    const run = await command(['--server-url', 'http://octoplant.plant.test:64023'], { url: 'http://octoplant.plant.test:64023' })
    expect(run.code).toBe(2)
    expect(run.error).toMatch(/^--server-url \(or OCTOPLANT_SERVER_URL\) uses plain http:\/\/ .* or set --allow-insecure-http if you accept the risk$/)
    expectCommandWords(run.error)
  })
})
