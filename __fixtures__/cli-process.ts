// The bundled octoplant-export command (the test run's fresh build) as a process, the way another CI
// system runs it: settings in OCTOPLANT_* variables, a folder of its own, stdout and stderr kept.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { bundled } from '../scripts/local-runner.js'

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
  cwd: string
  /** stdout's one JSON document. */
  json: Record<string, string>
}

export interface CliOptions {
  env?: Record<string, string>
  cwd?: string
  /** Sees stderr as it arrives, with the child's pid (to send it a signal at the right moment). */
  onStderr?: (text: string, pid: number) => void
}

export function runCli(args: string[], o: CliOptions = {}): Promise<CliRun> {
  return runCommand([process.execPath, bundled('cli/index.js'), ...args], { ...o, env: { PATH: process.env.PATH ?? '', ...o.env } })
}

/** Any build of the command (`argv[0]` the program) to its end, with exactly `o.env` as its
 *  environment; `tty`: in a pseudo-terminal, through util-linux `script -qec CMD /dev/null`. */
export async function runCommand(argv: string[], o: CliOptions & { tty?: boolean } = {}): Promise<CliRun> {
  const cwd = o.cwd ?? mkdtempSync(path.join(tmpdir(), 'cli-'))
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  const [program, ...args] = o.tty ? ['/usr/bin/script', '-qec', argv.map(quote).join(' '), '/dev/null'] : argv
  const child = spawn(program, args, { cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => {
    stderr += d
    o.onStderr?.(stderr, child.pid!)
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const code = await new Promise<number | null>(resolve => child.on('exit', c => resolve(c)))
  clearTimeout(killer)
  let json: Record<string, string> = {}
  try {
    json = JSON.parse(stdout) as Record<string, string>
  } catch {
    // left empty: the test says what it expected
  }
  return { code, stdout, stderr, cwd, json }
}
