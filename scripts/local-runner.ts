// Runs the bundled action (dist/index.js, or the test run's fresh build) in a child process the way the GitHub runner does:
// inputs as INPUT_<NAME> variables (upper-cased, hyphens kept), and the GITHUB_OUTPUT,
// GITHUB_STATE and GITHUB_STEP_SUMMARY command files. Used by `npm run demo`, the end-to-end tests
// and the benchmark. Measures the child's peak RSS from /proc (VmHWM), where there is one.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const DIST = fileURLToPath(new URL('../dist', import.meta.url))

/** A bundle's path: the ones the test run built from the working tree (its global setup sets
 *  OCTOPLANT_TEST_BUNDLE), else the committed dist/ (the demo, the benchmark). */
export function bundled(entry: 'index.js' | 'post/index.js' | 'cli/index.js'): string {
  return path.join(process.env.OCTOPLANT_TEST_BUNDLE ?? DIST, entry)
}

export const ACTION_ENTRY = bundled('index.js')
export const POST_ENTRY = bundled('post/index.js')

export interface LocalRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  state: Record<string, string>
  summary: string
  /** The runner's temp folder used for this run (RUNNER_TEMP). */
  tempDir: string
  durationMs: number
  /** Peak resident memory of the action's process tree, in KiB (undefined without /proc). */
  peakRssKiB?: number
}

export interface LocalRunOptions {
  inputs: Record<string, string>
  /** Extra environment (e.g. ACTIONS_RUNTIME_TOKEN); the parent's PATH and proxies are kept. */
  env?: Record<string, string | undefined>
  /** Called once the child has started, e.g. to send it a signal. */
  onStart?: (pid: number) => void
  timeoutMs?: number
  /** Another script to run in place of the action (the post step, the benchmark's naive client). */
  entry?: string
  /** State an earlier step saved, handed over as the runner does: STATE_<name> variables. */
  state?: Record<string, string>
  args?: string[]
}

export async function runLocally(o: LocalRunOptions): Promise<LocalRun> {
  const tempDir = mkdtempSync(path.join(tmpdir(), 'octoplant-run-'))
  const files = {
    GITHUB_OUTPUT: path.join(tempDir, 'output'),
    GITHUB_STATE: path.join(tempDir, 'state'),
    GITHUB_STEP_SUMMARY: path.join(tempDir, 'summary.md')
  }
  for (const f of Object.values(files)) writeFileSync(f, '')
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: tempDir,
    GITHUB_WORKSPACE: tempDir,
    ...files,
    ...Object.fromEntries(Object.entries(o.inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    ...Object.fromEntries(Object.entries(o.state ?? {}).map(([k, v]) => [`STATE_${k}`, v])),
    ...o.env
  }
  const started = performance.now()
  const child = spawn(process.execPath, [o.entry ?? ACTION_ENTRY, ...(o.args ?? [])], {
    env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  // Peak memory of the whole process tree: the sum, over the child and every process it started
  // (workers are threads and count in the child), of each one's peak resident set (VmHWM). Peaks that
  // did not coincide are added up, so this is an upper bound.
  const peaks = new Map<number, number>()
  let peakRssKiB: number | undefined
  const sample = () => {
    for (const pid of [child.pid!, ...descendants(child.pid!)]) {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
        if (m) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, Number(m[1])))
      } catch {
        /* exited, or no /proc */
      }
    }
    if (peaks.size) peakRssKiB = [...peaks.values()].reduce((a, b) => a + b, 0)
  }
  const sampler = setInterval(sample, 20)
  if (child.pid) o.onStart?.(child.pid)
  const killer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve =>
    child.on('exit', (c, s) => resolve([c, s]))
  )
  clearInterval(sampler)
  clearTimeout(killer)
  return {
    code,
    signal,
    stdout,
    stderr,
    outputs: parseCommandFile(await readFile(files.GITHUB_OUTPUT, 'utf8')),
    state: parseCommandFile(await readFile(files.GITHUB_STATE, 'utf8')),
    summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
    tempDir,
    durationMs: performance.now() - started,
    peakRssKiB
  }
}

/** Every process below `pid`, from /proc/<pid>/task/<tid>/children. */
function descendants(pid: number): number[] {
  const found: number[] = []
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean)) {
        found.push(Number(c), ...descendants(Number(c)))
      }
    }
  } catch {
    /* exited, or no /proc */
  }
  return found
}

const MASK = '::add-mask::'

/** The values the run asked the runner to mask. */
export function maskedValues(run: LocalRun): string[] {
  return run.stdout.split('\n').filter(l => l.startsWith(MASK)).map(l => l.slice(MASK.length))
}

/** Everything a log reader or a later step could see: the log less the masking commands, the
 *  outputs, the saved state and the job summary. */
export function visibleChannels(run: LocalRun): string {
  const log = (run.stdout + run.stderr).split('\n').filter(l => !l.startsWith(MASK)).join('\n')
  return [log, JSON.stringify(run.outputs), JSON.stringify(run.state), run.summary].join('\n')
}

/** Reads `name<<DELIMITER\nvalue\nDELIMITER` records, as @actions/core writes them. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i])
    if (!m) continue
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
    out[m[1]] = value.join('\n')
  }
  return out
}
