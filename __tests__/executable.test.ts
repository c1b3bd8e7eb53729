// The single-file executables (npm run build:exe): the Linux x64 one runs here for real, with no
// `node` on PATH and an empty HOME; the Windows one is inspected (a PE with the blob inside), since
// Node 24 does not start under this machine's Wine (ci.yml runs it on windows-latest).
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

interface Ran {
  code: number | null
  stdout: string
  stderr: string
  json: Record<string, string>
}

/** The Linux executable as an agent without Node runs it: PATH without node, an empty HOME. */
function runExe(args: string[], o: { env?: Record<string, string>; cwd?: string; tty?: boolean; onStderr?: (text: string, pid: number) => void } = {}): Promise<Ran> {
  const cwd = o.cwd ?? mkdtempSync(path.join(tmpdir(), 'exe-'))
  const env = { PATH: '/nonexistent', HOME: mkdtempSync(path.join(tmpdir(), 'home-')), TERM: 'xterm', ...o.env }
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  // `script -qec CMD /dev/null` runs CMD in a pseudo-terminal (stdin, stdout and stderr).
  const child = o.tty ? spawn('/usr/bin/script', ['-qec', [linux, ...args].map(quote).join(' '), '/dev/null'], { cwd, env }) : spawn(linux, args, { cwd, env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => {
    stderr += d
    o.onStderr?.(stderr, child.pid!)
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  return new Promise(resolve =>
    child.on('exit', code => {
      clearTimeout(killer)
      let json: Record<string, string> = {}
      try {
        json = JSON.parse(stdout) as Record<string, string>
      } catch {
        // left empty: the test says what it expected
      }
      resolve({ code, stdout, stderr, json })
    })
  )
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
