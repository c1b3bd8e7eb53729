// The single-file executables (npm run build:exe): the Linux x64 one runs here for real, with no
// `node` on PATH and an empty HOME; the Windows one is inspected (a PE with the blob inside), since
// Node 24 does not start under this machine's Wine (ci.yml runs it on windows-latest).
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { runCommand } from '../__fixtures__/cli-process.js'
import { startSimulator, type Simulator } from '../simulator/server.js'
import { VERSION } from '../src/shared/version.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const out = path.join(root, 'build/exe')
const linux = path.join(out, 'octoplant-export-linux-x64')
const password = 'exe-test-password'
let sim: Simulator

beforeAll(async () => {
  // The executables of the current sources: built by this run (the Node binaries are cached).
  execFileSync('bash', [path.join(root, 'scripts/build-exe.sh')], { cwd: root, stdio: 'pipe', timeout: 280_000 })
  sim = await startSimulator({ pendingMs: 100, runningMs: 400, changingTree: true, users: { backup: password } })
}, 300_000)
afterAll(async () => {
  await sim?.stop()
})

/** The Linux executable as an agent without Node runs it: PATH without node, an empty HOME. */
function runExe(args: string[], o: { env?: Record<string, string>; cwd?: string; tty?: boolean; onStderr?: (text: string, pid: number) => void } = {}) {
  const env = { PATH: '/nonexistent', HOME: mkdtempSync(path.join(tmpdir(), 'home-')), TERM: 'xterm', ...o.env }
  return runCommand([linux, ...args], { ...o, env })
}

const connection = () => ({ OCTOPLANT_SERVER_URL: sim.url, OCTOPLANT_USERNAME: 'backup', OCTOPLANT_PASSWORD: password })

describe('the single-file executables', () => {
  it('are listed in SHA256SUMS with their digests, in sha256sum\'s format', () => {
    const sums = readFileSync(path.join(out, 'SHA256SUMS'), 'utf8').trim().split('\n')
    expect(sums.map(l => l.split('  ')[1])).toEqual(['octoplant-export-linux-x64', 'octoplant-export-linux-arm64', 'octoplant-export-win-x64.exe'])
    for (const line of sums) {
      const [digest, name] = line.split('  ')
      expect(createHash('sha256').update(readFileSync(path.join(out, name))).digest('hex'), name).toBe(digest)
    }
    expect(execFileSync('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: out }).toString()).toMatch(/octoplant-export-win-x64\.exe: OK/)
  })

  it('the Windows one is an x64 PE whose resources hold the command\'s blob, with the SEA fuse set', () => {
    const exe = readFileSync(path.join(out, 'octoplant-export-win-x64.exe'))
    expect(exe.subarray(0, 2).toString('latin1')).toBe('MZ')
    const pe = exe.readUInt32LE(0x3c)
    expect(exe.subarray(pe, pe + 4).toString('latin1')).toBe('PE\0\0')
    expect(exe.readUInt16LE(pe + 4)).toBe(0x8664) // IMAGE_FILE_MACHINE_AMD64
    // The section table: the blob lies inside the resource section (.rsrc), named NODE_SEA_BLOB.
    const sections = exe.readUInt16LE(pe + 6)
    const table = pe + 24 + exe.readUInt16LE(pe + 20)
    const rsrc = Array.from({ length: sections }, (_, i) => table + 40 * i)
      .map(at => ({ name: exe.subarray(at, at + 8).toString('latin1').replace(/\0+$/, ''), raw: exe.readUInt32LE(at + 20), size: exe.readUInt32LE(at + 16) }))
      .find(s => s.name === '.rsrc')!
    expect(rsrc).toBeDefined()
    const resources = exe.subarray(rsrc.raw, rsrc.raw + rsrc.size)
    expect(resources.includes(Buffer.from('NODE_SEA_BLOB', 'utf16le'))).toBe(true)
    // The same command as the Linux executable: its bundled script is in both.
    const script = readFileSync(path.join(out, 'octoplant-export.cjs'))
    const probe = script.subarray(script.length - 4096)
    expect(resources.includes(probe)).toBe(true)
    expect(readFileSync(linux).includes(probe)).toBe(true)
    expect(exe.includes(Buffer.from('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1'))).toBe(true)
  })

  it('runs with no node on PATH: --version names the tool and the Node inside, --help the options', async () => {
    expect(() => execFileSync('node', ['--version'], { env: { PATH: '/nonexistent' } })).toThrow()
    const version = await runExe(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toBe(`${VERSION} (single executable, Node ${process.versions.node})`)
    const help = await runExe(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('--compare-with')
  })

  it('ignores NODE_OPTIONS from the agent: nothing there can load code into it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'node-options-'))
    const marker = path.join(dir, 'loaded')
    writeFileSync(path.join(dir, 'evil.cjs'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x')`)
    const ran = await runExe(['--version'], { env: { NODE_OPTIONS: `--require ${path.join(dir, 'evil.cjs')}` } })
    expect(ran.code).toBe(0)
    expect(existsSync(marker)).toBe(false)
  })

  it('checks the server (check) and exports with --ca-certificate, --extract and --compare-with', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'exe-run-'))
    writeFileSync(path.join(cwd, 'ca.pem'), sim.caPem!)
    const check = await runExe(['check', '--ca-certificate', 'ca.pem'], { cwd, env: connection() })
    expect(check.code, check.stderr).toBe(0)
    expect(check.json['signed-in']).toBe(true)

    const first = await runExe(['--ca-certificate', 'ca.pem', '--artifact-name', 'line', '--path', 'night-1'], { cwd, env: connection() })
    expect(first.code, first.stderr).toBe(0)
    const second = await runExe(['--ca-certificate', 'ca.pem', '--artifact-name', 'line', '--path', 'night-2', '--extract', '--compare-with', first.json['record-path']], { cwd, env: connection() })
    expect(second.code, second.stderr).toBe(0)
    expect(second.json).toMatchObject({ state: 'STATE_SUCCEEDED', 'entries-added': '1', 'entries-removed': '1', 'entries-changed': '1' })
    expect(existsSync(path.join(second.json['extract-path'], 'contents.json'))).toBe(true)
    expect(createHash('sha256').update(readFileSync(second.json['zip-path'])).digest('hex')).toBe(second.json['zip-sha256'])
  })

  it('draws its status line at a terminal', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'exe-tty-'))
    writeFileSync(path.join(cwd, 'ca.pem'), sim.caPem!)
    const ran = await runExe(['--ca-certificate', 'ca.pem'], { cwd, tty: true, env: connection() })
    expect(ran.code, ran.stdout).toBe(0)
    // The status line is redrawn in place: carriage return, erase the line, then the line.
    expect(ran.stdout).toMatch(new RegExp(`\r${'\u001b'}\\[2KWaited \\d+(ms|s): STATE_`))
    expect(ran.stdout).toContain('"state": "STATE_SUCCEEDED"')
  })

  it('cancels the order on Ctrl-C and exits 130 with the JSON', async () => {
    const slow = await startSimulator({ pendingMs: 100, runningMs: 60_000, users: { backup: password } })
    try {
      const cwd = mkdtempSync(path.join(tmpdir(), 'exe-int-'))
      writeFileSync(path.join(cwd, 'ca.pem'), slow.caPem!)
      let sent = false
      const ran = await runExe(['--ca-certificate', 'ca.pem'], {
        cwd,
        env: { ...connection(), OCTOPLANT_SERVER_URL: slow.url },
        onStderr: (_, pid) => {
          if (sent) return
          const wait = setInterval(() => {
            if (slow.count('GET /v1/order/{name}') < 1) return
            clearInterval(wait)
            process.kill(pid, 'SIGINT')
          }, 20)
          sent = true
        }
      })
      expect(ran.code, ran.stderr).toBe(130)
      expect(ran.json['error-message']).toMatch(/cancelled \(SIGINT\).*was cancelled on the server/)
      expect(slow.count('POST /v1/order/{name}/cancel')).toBe(1)
    } finally {
      await slow.stop()
    }
  })
})

/** The files a list of CI archive globs ("backups/*.zip") matches under `cwd` (one folder deep). */
function archived(cwd: string, globs: string[]): string[] {
  return globs.flatMap(glob => {
    const [dir, pattern] = glob.replace(/\\/g, '/').split('/')
    const re = new RegExp(`^${pattern.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`)
    return existsSync(path.join(cwd, dir)) ? readdirSync(path.join(cwd, dir)).filter(f => re.test(f)).map(f => `${dir}/${f}`) : []
  })
}

describe('the examples for agents without Node (their Linux parts, run here)', () => {
  const example = (file: string) => readFileSync(path.join(root, 'examples/agents-without-node', file), 'utf8')

  it('the README\'s steps: the release archive checked against SHA256SUMS, unpacked, run', async () => {
    const release = mkdtempSync(path.join(tmpdir(), 'release-'))
    execFileSync('tar', ['-czf', path.join(release, 'octoplant-export-linux-x64.tar.gz'), '-C', out, 'octoplant-export-linux-x64'])
    copyFileSync(path.join(out, 'SHA256SUMS'), path.join(release, 'SHA256SUMS'))
    execFileSync('bash', ['-c', 'sha256sum octoplant-export-linux-x64.tar.gz >> SHA256SUMS'], { cwd: release })
    expect(execFileSync('sha256sum', ['--check', '--ignore-missing', 'SHA256SUMS'], { cwd: release }).toString()).toContain('octoplant-export-linux-x64.tar.gz: OK')
    const agent = mkdtempSync(path.join(tmpdir(), 'agent-'))
    execFileSync('tar', ['-xzf', path.join(release, 'octoplant-export-linux-x64.tar.gz'), '-C', agent])
    expect(execFileSync('sha256sum', ['--check', '--ignore-missing', path.join(release, 'SHA256SUMS')], { cwd: agent }).toString()).toContain('octoplant-export-linux-x64: OK')
    writeFileSync(path.join(agent, 'ca.pem'), sim.caPem!)
    const ran = await runTo(path.join(agent, 'octoplant-export-linux-x64'), ['check', '--ca-certificate', 'ca.pem'], agent, connection())
    expect(ran.status, ran.stderr).toBe(0)
  })

  for (const [file, read] of [
    ['Jenkinsfile', (text: string) => ({ variables: Object.fromEntries([...(/environment \{([^}]*)\}/.exec(text)![1]).matchAll(/^\s*(\w+) = '([^']*)'/gm)].map(m => [m[1], m[2]])), globs: /archiveArtifacts artifacts: '([^']+)'/.exec(text)![1].split(',').map(g => g.trim()), line: /& C:\\\\tools\\\\octoplant-export\.exe ([^|]+)\|/.exec(text)![1] })],
    ['gitlab-ci.yml', (text: string) => {
      const job = (parse(text) as Record<string, { variables: Record<string, string>; script: string[]; artifacts: { paths: string[] } }>)['octoplant-backup']
      return { variables: job.variables, globs: job.artifacts.paths, line: /& C:\\tools\\octoplant-export\.exe ([^|]+)\|/.exec(job.script.join('\n'))![1] }
    }]
  ] as const) {
    it(`${file}: the command it runs writes what it archives`, async () => {
      const { variables, globs, line } = read(example(file))
      expect(Object.keys(variables).every(v => v.startsWith('OCTOPLANT_'))).toBe(true)
      const cwd = mkdtempSync(path.join(tmpdir(), 'example-'))
      mkdirSync(path.join(cwd, 'backups'))
      writeFileSync(path.join(cwd, 'ca.pem'), sim.caPem!)
      // The plant's server and CA file are the simulator's here; the token is the test user's password.
      const env = { ...variables, OCTOPLANT_SERVER_URL: sim.url, OCTOPLANT_CA_CERTIFICATE: 'ca.pem', OCTOPLANT_USERNAME: 'backup', OCTOPLANT_PASSWORD: password }
      const ran = await runTo(linux, line.trim().split(/\s+/), cwd, env)
      expect(ran.status, ran.stderr).toBe(0)
      writeFileSync(path.join(cwd, 'backups/export.json'), ran.stdout)
      const kept = archived(cwd, globs)
      const json = JSON.parse(ran.stdout) as Record<string, string>
      for (const output of ['zip-path', 'record-path', 'manifest-path']) expect(kept).toContain(path.relative(cwd, json[output]))
      expect(kept).toContain('backups/export.json')
    })
  }

  it('schedule-nightly.cmd: the scheduled command keeps its JSON beside the ZIPs, with the token from a file', async () => {
    const text = example('schedule-nightly.cmd')
    expect(text).toMatch(/schtasks \/Create \/F \/TN "[^"]+" \/SC DAILY \/ST 01:30/)
    const task = /octoplant-export\.exe (.+?) > backups\\last-run\.json/.exec(text)![1]
    const args = task.split(/\s+/)
    expect(args).toContain('--token-file')
    const cwd = mkdtempSync(path.join(tmpdir(), 'task-'))
    mkdirSync(path.join(cwd, 'backups'))
    writeFileSync(path.join(cwd, 'octoplant-ca.pem'), sim.caPem!)
    // A password file stands in for the token file here (the simulator's user signs in with it).
    writeFileSync(path.join(cwd, 'token.txt'), password)
    const local = args.map(a => (a === 'https://octoplant.plant.local:64023' ? sim.url : a)).map(a => (a === '--token-file' ? '--password-file' : a))
    const ran = await runTo(linux, [...local, '--username', 'backup'], cwd)
    expect(ran.status, ran.stderr).toBe(0)
    writeFileSync(path.join(cwd, 'backups/last-run.json'), ran.stdout)
    const json = JSON.parse(readFileSync(path.join(cwd, 'backups/last-run.json'), 'utf8')) as Record<string, string>
    expect(path.dirname(json['zip-path'])).toBe(path.join(cwd, 'backups'))
  })
})

/** An executable run to its end (asynchronously: the simulator answers from this process). */
function runTo(exe: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    execFile(exe, args, { cwd, env: { PATH: '/nonexistent', HOME: cwd, ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr })
    )
  })
}

