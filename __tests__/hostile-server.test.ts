// A hostile server, a careless user and a hostile neighbour on a shared agent, against the bundled
// Action and the bundled command: names never become paths unmade, links are never written through,
// server text never becomes a runner command or a terminal escape, secrets stay masked in every
// spelling, huge texts are cut, bad entry names are refused before anything is written, and bad
// setup is refused as bad input. SECURITY.md lists these cases beside what covers them.
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Hostility, type HostileServer, startHostileServer } from '../__fixtures__/hostile-server.js'
import { makeZip, patch } from '../__fixtures__/zips.js'
import { runCli } from '../__fixtures__/cli-process.js'
import { maskedValues, runLocally, visibleChannels } from '../scripts/local-runner.js'
import { spellingsOf } from '../src/base/secrets.js'
import { fileNameFor } from '../src/base/safe-name.js'
import { main } from '../src/cli/main.js'
import { systemClock } from '../src/base/clock.js'

let servers: HostileServer[] = []
afterEach(async () => {
  await Promise.all(servers.map(s => s.stop()))
  servers = []
})
async function hostile(h: Hostility): Promise<HostileServer> {
  const server = await startHostileServer({ zip: await makeZip({ 'contents.json': '{}', 'Plant/a.txt': 'a' }), ...h })
  servers.push(server)
  return server
}

const fresh = (prefix: string) => mkdtempSync(path.join(tmpdir(), prefix))

/** The Action as the runner runs it, against the hostile server. */
function action(server: HostileServer, extra: Record<string, string> = {}) {
  return runLocally({ inputs: { 'server-url': server.url, username: 'u', password: 'plant-pass', timeout: '20s', path: fresh('out-'), ...extra } })
}

/** The bundled command, settings in OCTOPLANT_* variables, in a folder of its own. */
function command(server: HostileServer | undefined, args: string[] = [], env: Record<string, string> = {}, cwd?: string) {
  return runCli(args, { cwd, env: { ...(server ? { OCTOPLANT_SERVER_URL: server.url, OCTOPLANT_USERNAME: 'u', OCTOPLANT_PASSWORD: 'plant-pass' } : {}), ...env } })
}

/** Every file below `dir`, relative. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()
}

describe("the server's order name never decides where files go", () => {
  const evil = '../../../pwned'

  it('the Action writes the ZIP, the evidence and the extraction inside path, under a safe name, and says so once', async () => {
    const server = await hostile({ orderName: evil })
    const run = await action(server, { extract: 'true' })
    expect(run.code, run.stdout).toBe(0)
    const out = path.dirname(run.outputs['zip-path'])
    const safe = fileNameFor(evil)
    expect(safe).toMatch(/^pwned-[0-9a-f]{12}$/)
    expect(readdirSync(out).sort()).toEqual([safe, `octoplant-export-${safe}.manifest.sha256`, `octoplant-export-${safe}.record.json`, `octoplant-export-${safe}.zip`].sort())
    expect(run.outputs['extract-path']).toBe(path.join(out, safe))
    expect(existsSync(path.join(out, '..', '..', '..', 'pwned.zip'))).toBe(false)
    expect(run.stdout.match(/cannot name a file as it is/g)).toHaveLength(1)
    // The request still names the order as the server did, URL-encoded.
    expect(server.requests).toContain(`GET /v1/order/${encodeURIComponent(evil)}/download`)
  })

  it('the command does the same', async () => {
    const server = await hostile({ orderName: evil })
    const run = await command(server, ['--extract'])
    expect(run.code, run.stderr).toBe(0)
    expect(path.dirname(run.json['zip-path'])).toBe(path.join(run.cwd, 'octoplant-export'))
    expect(run.json['extract-path']).toBe(path.join(run.cwd, 'octoplant-export', fileNameFor(evil)))
  })

  it.each(['..', 'a:b', '.hidden', 'CON', 'x'.repeat(101), 'a/b'])('order-name %j is refused before any connection, in each front end\'s words', async name => {
    const server = await hostile({})
    const run = await action(server, { 'order-name': name, extract: 'true' })
    expect(run.code).toBe(1)
    expect(run.outputs['error-message']).toMatch(/^Input 'order-name' must be an order name as the server returned it/)
    const cli = await command(server, ['--order-name', name])
    expect(cli.code).toBe(2)
    expect(cli.json['error-message']).toMatch(/^--order-name \(or OCTOPLANT_ORDER_NAME\) must be an order name/)
    expect(server.requests).toEqual([])
  })
})

describe('files are created, never followed', () => {
  it('refuses links planted at the ZIP and the manifest, and leaves their targets alone', async () => {
    const server = await hostile({})
    const out = fresh('shared-')
    const victim = path.join(fresh('victim-'), 'victim')
    writeFileSync(victim, 'untouched')
    symlinkSync(victim, path.join(out, 'plant.manifest.sha256'))
    symlinkSync(victim, path.join(out, 'plant.zip'))
    for (const run of [
      await action(server, { path: out, 'artifact-name': 'plant' }),
      await command(server, ['--path', out, '--artifact-name', 'plant'])
    ]) {
      expect(run.code).toBe(1)
      const message = 'outputs' in run ? run.outputs['error-message'] : run.json['error-message']
      expect(message).toMatch(/refusing to write .*plant\.zip: a symbolic link stands there/)
    }
    expect(readFileSync(victim, 'utf8')).toBe('untouched')
    expect(readdirSync(out).sort()).toEqual(['plant.manifest.sha256', 'plant.zip'])
    expect(lstatSync(path.join(out, 'plant.zip')).isSymbolicLink()).toBe(true)
  })

  it('an empty or blank --path is ./octoplant-export, owner-only (0700 folder, 0600 files)', async () => {
    const server = await hostile({})
    for (const [args, env] of [[['--path', '']], [[], { OCTOPLANT_PATH: '  ' }]] as [string[], Record<string, string>?][]) {
      const run = await command(server, args, env)
      expect(run.code, run.stderr).toBe(0)
      const dir = path.join(run.cwd, 'octoplant-export')
      expect(path.dirname(run.json['zip-path'])).toBe(dir)
      expect(statSync(dir).mode & 0o777).toBe(0o700)
      for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).mode & 0o777, f).toBe(0o600)
    }
  })
})

describe('server text is data, never a command or an escape', () => {
  const injected: Hostility = {
    currentSubProcess: 'Export\n::error::injected\r\n##vso[task.setvariable variable=GATE]passed\x1b[2J',
    orderError: 'failed\n::warning::also injected ##[error]x \x1b]0;title\x07',
    state: 'STATE_FAILED'
  }

  it('in the Action: no log line starts a workflow command the server wrote', async () => {
    const run = await action(await hostile(injected))
    expect(run.code).toBe(1)
    const lines = run.stdout.split('\n')
    expect(lines.filter(l => /^\s*::(error|warning)::(injected|also)/.test(l))).toEqual([])
    expect(run.stdout).not.toMatch(/##(vso)?\[/)
    expect(run.stdout).not.toContain('\x1b')
    // The text is still there to read, as data.
    expect(run.outputs['error-message']).toContain('injected')
    expect(run.outputs['error-message']).not.toMatch(/[\n\r]/)
    expect(run.outputs['error-message']).not.toContain('\x1b')
  })

  it('in the command: no Azure DevOps logging command, no escape, on stderr or stdout', async () => {
    const run = await command(await hostile(injected))
    expect(run.code).toBe(1)
    for (const text of [run.stdout, run.stderr]) {
      expect(text).not.toMatch(/##(vso)?\[/)
      expect(text).not.toContain('\x1b')
      expect(text.split('\n').filter(l => /^\s*::/.test(l))).toEqual([])
    }
    expect(run.json['error-message']).toContain('GATE')
  })

  it('cuts a huge message to 500 characters and says how much was cut', async () => {
    const server = await hostile({ signInRefusal: () => 'x'.repeat(900_000) })
    const run = await action(server)
    expect(run.outputs['error-message'].length).toBeLessThan(1500)
    expect(run.outputs['error-message']).toMatch(/… \(899500 more characters cut\)/)
    const cli = await command(server)
    expect(cli.json['error-message'].length).toBeLessThan(1500)
    expect(cli.stderr.length).toBeLessThan(3000)
  })
})

describe('secrets in every spelling', () => {
  const password = 'pa"ss\\wo rd&x=1'
  const echo = (form: URLSearchParams) => `invalid password ${JSON.stringify(form.get('password')).slice(1, -1)}; request was ${form.toString()}; or ${encodeURIComponent(form.get('password')!)}`

  it('the Action registers each spelling and none is visible anywhere', async () => {
    const server = await hostile({ signInRefusal: echo })
    const run = await runLocally({ inputs: { 'server-url': server.url, username: 'u', password, timeout: '20s', path: fresh('out-') } })
    expect(run.code).toBe(1)
    // As @actions/core escapes a command's data, and the runner reads it back.
    const masked = maskedValues(run).map(v => v.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))
    for (const spelling of spellingsOf(password)) expect(masked).toContain(spelling)
    // The runner masks what was registered; what we write ourselves is masked already.
    const visible = visibleChannels(run)
    for (const spelling of spellingsOf(password)) expect(run.outputs['error-message']).not.toContain(spelling)
    expect(visible).toContain('invalid password ***')
  })

  it('the command masks each spelling, however short the secret, in its log and its JSON', async () => {
    for (const secret of [password, 'q7']) {
      const server = await hostile({ signInRefusal: echo })
      const run = await command(server, [], { OCTOPLANT_PASSWORD: secret })
      expect(run.code).toBe(1)
      for (const spelling of spellingsOf(secret)) {
        expect(run.stdout).not.toContain(spelling)
        expect(run.stderr).not.toContain(spelling)
      }
      expect(run.json['error-message']).toMatch(/invalid password \*\*\*/)
    }
  })
})

describe('entry names are all checked before the first write', () => {
  it('a NUL in a name is refused with the entry named, and nothing of the run stays', async () => {
    const zip = patch(await makeZip({ 'ok.txt': 'fine', 'aXb.txt': 'x' }), 'aXb', 'a\0b')
    const server = await hostile({ zip })
    const out = fresh('out-')
    const run = await action(server, { extract: 'true', 'artifact-name': 'plant', path: out })
    expect(run.code).toBe(1)
    expect(run.outputs['error-message']).toMatch(/refusing to extract "a\ufffdb.txt": its name holds a NUL character/)
    expect(readdirSync(out)).toEqual([])
  })

  it('a file that is also a folder of another entry is refused before anything is written', async () => {
    const server = await hostile({ zip: await makeZip({ 'a/b.txt': 'x', a: 'file' }) })
    const out = fresh('out-')
    const cli = await command(server, ['--extract', '--path', out])
    expect(cli.code).toBe(1)
    expect(cli.json['error-message']).toMatch(/refusing to extract "a": "a" is a file in the ZIP and also a folder of "a\/b.txt"/)
    expect(filesBelow(out)).toEqual([])
  })
})

describe('bad setup is bad input', () => {
  it('a Node.js older than 24.5 is refused with the versions, exit 2', async () => {
    let stdout = ''
    let stderr = ''
    const code = await main({
      argv: [],
      env: { OCTOPLANT_SERVER_URL: 'https://octoplant.plant.local:64023' },
      cwd: fresh('cli-'),
      stdout: t => void (stdout += t),
      stderr: t => void (stderr += t),
      readFile: () => '',
      clock: systemClock,
      trustCertificates: () => undefined,
      version: 'test',
      nodeVersion: '20.20.2',
      host: { hostname: 'h' }
    })
    expect(code).toBe(2)
    expect(stderr).toMatch(/needs Node\.js 24\.5\.0 or later \(for tls\.setDefaultCACertificates\); this is Node\.js 20\.20\.2/)
    expect(JSON.parse(stdout)['error-message']).toMatch(/this is Node\.js 20\.20\.2/)
  })

  it('a token file with a line break inside is refused before any connection', async () => {
    const server = await hostile({})
    const cwd = fresh('cli-')
    writeFileSync(path.join(cwd, 'token'), 'first-line\nsecond-line\n')
    const run = await command(server, ['--token-file', 'token'], { OCTOPLANT_PASSWORD: '' }, cwd)
    expect(run.code).toBe(2)
    expect(run.json['error-message']).toMatch(/^OCTOPLANT_TOKEN holds a line break inside it/)
    expect(server.requests).toEqual([])
  })
})
