// The command at a person's terminal: run in a pseudo-terminal (util-linux `script`), it redraws one
// status line in place and clears it before the final lines; in a CI log (pipes) it writes plain
// lines as before; --quiet keeps only errors and the JSON; NO_COLOR turns colour off.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { bundled } from '../scripts/local-runner.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server.js'

const BUNDLE = bundled('cli/index.js')
const password = `pw-${randomBytes(8).toString('hex')}`
const ESC = '\x1b'
const ERASE_LINE = `\r${ESC}[2K`

let sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.map(s => s.stop()))
  sims = []
})

async function simulator(o: SimulatorOptions = {}) {
  // Long enough to be seen: a few seconds of waiting through sub-processes, then a paced download
  // of known size (stored entries, one body with its length).
  const sim = await startSimulator({
    pendingMs: 300,
    runningMs: 2500,
    subProcesses: 4,
    payloadBytes: 3_000_000,
    compress: false,
    downloadFraming: 'content-length',
    paceBytesPerSecond: 2_000_000,
    users: { backup: password },
    ...o
  })
  sims.push(sim)
  return sim
}

interface Ran {
  code: number | null
  /** In a terminal: everything the terminal showed; else stdout and stderr apart. */
  screen: string
  stdout: string
  stderr: string
}

async function run(sim: Simulator, o: { tty: boolean; args?: string[]; env?: Record<string, string> }): Promise<Ran> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'tty-'))
  writeFileSync(path.join(cwd, 'ca.pem'), sim.caPem!)
  const env = {
    PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
    HOME: process.env.HOME,
    TERM: 'xterm',
    OCTOPLANT_SERVER_URL: sim.url,
    OCTOPLANT_USERNAME: 'backup',
    OCTOPLANT_PASSWORD: password,
    OCTOPLANT_CA_CERTIFICATE: 'ca.pem',
    ...o.env
  }
  const command = [process.execPath, BUNDLE, ...(o.args ?? [])]
  // `script -qec CMD /dev/null` runs CMD with a pseudo-terminal as its stdin, stdout and stderr.
  const argv = o.tty ? ['script', ['-qec', command.map(quote).join(' '), '/dev/null']] as const : [command[0], command.slice(1)] as const
  const child = spawn(argv[0], argv[1], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const killer = setTimeout(() => child.kill('SIGKILL'), 40_000)
  const code = await new Promise<number | null>(resolve => child.on('exit', c => resolve(c)))
  clearTimeout(killer)
  return { code, screen: stdout, stdout, stderr }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** The status lines drawn: what follows each erase, up to the next control character. */
function statusLines(screen: string): string[] {
  return screen.split(ERASE_LINE).slice(1).map(s => s.split(/[\r\n]/)[0]).filter(Boolean)
}

describe('octoplant-export at a terminal', () => {
  it('redraws one status line with the state, the server\'s progress, the time waited and the download, and clears it before the JSON', async () => {
    const sim = await simulator()
    const ran = await run(sim, { tty: true })
    expect(ran.code, ran.screen).toBe(0)
    const lines = statusLines(ran.screen)
    expect(lines.some(l => /^Waited \d+(ms|s): STATE_RUNNING, \d of 4 steps \(\d+ %\)/.test(l)), lines.join('\n')).toBe(true)
    expect(lines.some(l => /^Downloading [\d.]+ (KiB|MiB) of 2\.\d\d MiB \(\d+ %\), [\d.]+ (KiB|MiB)\/s, \d+(ms|s) left$/.test(l)), lines.join('\n')).toBe(true)
    // Several redraws of the line, not a line per update.
    expect(lines.length).toBeGreaterThan(3)
    // The last erase clears the line, and what follows it is the final output: no status text.
    const afterLast = ran.screen.slice(ran.screen.lastIndexOf(ERASE_LINE) + ERASE_LINE.length)
    expect(afterLast).not.toMatch(/Waited|Downloading \d/)
    expect(afterLast).toContain('"state": "STATE_SUCCEEDED"')
    // Log lines still reach the terminal, above the status line.
    expect(ran.screen).toMatch(/Saved .*CRCs verified/)
    expect(ran.screen).not.toContain(password)
  })

  it('colours "error:" unless NO_COLOR is set', async () => {
    const sim = await simulator({ users: { backup: 'another-password' } })
    const coloured = await run(sim, { tty: true })
    expect(coloured.code).toBe(1)
    expect(coloured.screen).toContain('\x1b[31merror:\x1b[39m octoplant refused to sign in')
    const plain = await run(sim, { tty: true, env: { NO_COLOR: '1' } })
    expect(plain.code).toBe(1)
    expect(plain.screen).toContain('error: octoplant refused to sign in')
    expect(plain.screen).not.toMatch(new RegExp(`${ESC}\\[\\d+m`))
  })

  it('--quiet draws no status line and shows only the JSON', async () => {
    const sim = await simulator({ runningMs: 500 })
    const ran = await run(sim, { tty: true, args: ['--quiet'] })
    expect(ran.code, ran.screen).toBe(0)
    expect(ran.screen).not.toContain(ERASE_LINE)
    expect(ran.screen.trim()).toMatch(/^\{[\s\S]*"state": "STATE_SUCCEEDED"[\s\S]*\}$/)
  })
})

describe('octoplant-export in a CI log (no terminal)', () => {
  it('writes plain lines: no status line, no escape sequence, no carriage return', async () => {
    const sim = await simulator({ runningMs: 1000 })
    const ran = await run(sim, { tty: false })
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stderr).toMatch(/STATE_RUNNING/)
    expect(ran.stderr).toMatch(/Saved .*CRCs verified/)
    expect(ran.stderr).not.toContain('\r')
    expect(ran.stderr).not.toContain(ESC)
    expect(JSON.parse(ran.stdout)).toMatchObject({ state: 'STATE_SUCCEEDED' })
  })

  it('--quiet keeps the errors and the JSON only', async () => {
    const sim = await simulator({ runningMs: 200 })
    const ok = await run(sim, { tty: false, env: { OCTOPLANT_QUIET: 'true' } })
    expect(ok.code).toBe(0)
    expect(ok.stderr).toBe('')
    const bad = await run(sim, { tty: false, args: ['--quiet'], env: { OCTOPLANT_PASSWORD: 'wrong' } })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^error: octoplant refused to sign in[^\n]*\n$/)
    expect(JSON.parse(bad.stdout)['error-message']).toMatch(/refused to sign in/)
  })
})
