// Reads and validates every input before any network call. The input getter, the environment and
// the file reader are passed in (whether a file exists is asked of the file system unless a test
// passes isFile). A bad input throws an InputError naming the input and the fix.
import { statSync } from 'node:fs'
import * as path from 'node:path'
import parseDuration from 'parse-duration'
import { parse as parseYaml } from 'yaml'
import { type ExportContents, validateExportContents } from './export-contents.js'
import { GATE_CHECKS, type GateCheck } from '../engine/evidence/gate.js'
import { type ExportSettings, InputError } from '../engine/settings.js'
import { windowsNameProblem } from '../engine/zip/path-rules.js'
import { SAFE_NAME_MAX, unsafeNameProblem } from '../base/safe-name.js'
import { bool, type ConnectionInputs, type InputContext, readConnection, readText, withDefaults } from './connection-inputs.js'
import { setting, settingIfAny } from '../base/setting-ref.js'

export { InputError }
export { DEFAULTS, type InputContext } from './connection-inputs.js'

/** Inputs only the Action has: the command reads no option or variable for them. */
export const ACTION_ONLY = ['upload-artifact', 'retention-days', 'compare-with-previous', 'github-token'] as const

/** The Action's inputs: the export's settings and what only the Action does with them. */
export interface Inputs extends ExportSettings, ConnectionInputs {
  uploadArtifact: boolean
  retentionDays?: number
  /** Compare with the record of the newest earlier export of the same artifact-name (GitHub only). */
  compareWithPrevious: boolean
  /** The token that reads earlier runs' artifacts (actions: read). */
  githubToken: string
  /** What the settings leave unused, for the front end to warn of. */
  warnings: string[]
}


export function parseInputs(getInput: (name: string) => string, ctx: InputContext): Inputs {
  const get = withDefaults(getInput)
  const workspace = ctx.env.GITHUB_WORKSPACE || process.cwd()
  const connection = readConnection(getInput, ctx)

  const orderName = readOrderName(get)
  // Warned, not refused: the way back after a failure is "re-run with order-name", and a workflow
  // that keeps its export-contents must still be able to take it.
  const warnings: string[] = []
  if (orderName && (getInput('export-contents').trim() || get('order-file'))) {
    const given = getInput('export-contents').trim() ? setting('export-contents') : setting('order-file')
    warnings.push(`${setting('order-name', orderName)} fetches an order that exists: ${given} is not used, and no new order is placed`)
  }
  const exportContents = orderName ? undefined : readExportContents(getInput, get, ctx, workspace)

  const maxPollIntervalMs = duration(get, 'max-poll-interval')
  if (maxPollIntervalMs < 1000) throw new InputError('max-poll-interval', `must be at least 1s; got "${get('max-poll-interval')}"`)

  const artifactName = readArtifactName(get)
  const retentionDays = readRetentionDays(get)

  const tempDir = ctx.env.RUNNER_TEMP || ctx.env.TMPDIR || '/tmp'
  const paths = ctx.path ?? path
  const dir = get('path') || ctx.defaultPath || paths.join(tempDir, 'octoplant-export')
  const comparison = readComparison(get, ctx, workspace, artifactName)
  const failOn = readFailOn(get, exportContents, comparison)

  return {
    ...connection,
    exportContents,
    orderName,
    timeoutMs: duration(get, 'timeout'),
    maxPollIntervalMs,
    cancelOnTimeout: bool(get, 'cancel-on-timeout'),
    path: paths.resolve(workspace, dir),
    extract: bool(get, 'extract'),
    uploadArtifact: bool(get, 'upload-artifact'),
    artifactName,
    retentionDays,
    ...comparison,
    failOn,
    githubToken: get('github-token'),
    warnings
  }
}

/** compare-with (a file, checked now) or compare-with-previous (which needs a fixed artifact-name). */
function readComparison(get: (name: string) => string, ctx: InputContext, workspace: string, artifactName: string | undefined) {
  const file = get('compare-with')
  const compareWithPrevious = bool(get, 'compare-with-previous')
  if (file && compareWithPrevious) {
    throw new InputError('compare-with', `and ${setting('compare-with-previous', 'true')} are both set: compare with one of them`)
  }
  if (compareWithPrevious && !artifactName) {
    throw new InputError(
      'compare-with-previous',
      `needs ${setting('artifact-name')}: a fixed name that every run of this export shares (the default names each artifact after its order, so no earlier one has the same name)`
    )
  }
  if (!file) return { compareWithPrevious }
  const compareWith = (ctx.path ?? path).resolve(workspace, file)
  const isFile = ctx.isFile ?? defaultIsFile
  if (!isFile(compareWith)) {
    throw new InputError('compare-with', `names no readable file: ${compareWith} (give a previous export's ZIP or its .record.json)`)
  }
  return { compareWith, compareWithPrevious }
}

function defaultIsFile(file: string): boolean {
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}

/** fail-on: a comma list of known checks, each with what it needs. */
function readFailOn(
  get: (name: string) => string,
  exportContents: ExportContents | undefined,
  comparison: { compareWith?: string; compareWithPrevious: boolean }
): GateCheck[] {
  const items = [...new Set(get('fail-on').split(',').map(s => s.trim()).filter(Boolean))]
  const unknown = items.filter(i => !(GATE_CHECKS as readonly string[]).includes(i))
  if (unknown.length) {
    throw new InputError('fail-on', `takes a comma list of ${GATE_CHECKS.join(', ')}; "${unknown.join('", "')}" is not one of them`)
  }
  if (items.includes('changes') && !comparison.compareWith && !comparison.compareWithPrevious) {
    throw new InputError('fail-on', `"changes" needs a previous export to compare with: set ${setting('compare-with')}${settingIfAny(' or ', 'compare-with-previous', 'true')}`)
  }
  if (items.includes('unequal-job-results') && exportContents && !('unequalJobResults' in exportContents)) {
    throw new InputError('fail-on', `"unequal-job-results" judges the unequalJobResults export, which ${setting('export-contents')} does not ask for: add unequalJobResults: {} to it`)
  }
  return items as GateCheck[]
}

/** The order's files are named after it: it must be one safe path segment everywhere. */
function readOrderName(get: (name: string) => string): string | undefined {
  const orderName = get('order-name') || undefined
  const problem = orderName === undefined ? undefined : unsafeNameProblem(orderName)
  if (problem) {
    throw new InputError('order-name', `must be an order name as the server returned it (letters, digits, - _ . @ ~; no leading dot; at most ${SAFE_NAME_MAX} characters): ${problem}; got ${JSON.stringify(orderName)}`)
  }
  return orderName
}

/** Longest artifact-name: its evidence file name (<name>.manifest.sha256.<random>.partial while it
 *  is written) must fit a file system's 255 bytes. */
const ARTIFACT_NAME_MAX = 200

function readArtifactName(get: (name: string) => string): string | undefined {
  const artifactName = get('artifact-name') || undefined
  if (artifactName !== undefined && Buffer.byteLength(artifactName) > ARTIFACT_NAME_MAX) {
    throw new InputError('artifact-name', `must be at most ${ARTIFACT_NAME_MAX} bytes (its files' names must fit the file system); got ${Buffer.byteLength(artifactName)}`)
  }
  if (artifactName?.startsWith('.')) throw new InputError('artifact-name', `must not start with a dot (a hidden file); got ${JSON.stringify(artifactName)}`)
  if (artifactName !== undefined && /["':<>|*?\r\n\\/]/.test(artifactName)) {
    throw new InputError('artifact-name', `must not contain any of " : < > | * ? \\ / or a line break; got "${artifactName}"`)
  }
  // The ZIP is written as <artifact-name>.zip, and a later job may fetch it on Windows.
  const windowsProblem = artifactName && windowsNameProblem(`${artifactName}.zip`)
  if (windowsProblem) throw new InputError('artifact-name', `cannot name a file on Windows: ${windowsProblem}; got "${artifactName}"`)
  return artifactName
}

function readRetentionDays(get: (name: string) => string): number | undefined {
  const retention = get('retention-days')
  if (retention === '') return undefined
  const days = Number(retention)
  if (!/^\d+$/.test(retention) || days < 1 || days > 90) {
    throw new InputError('retention-days', `must be a whole number of days from 1 to 90, or empty for the repository's default; got "${retention}"`)
  }
  return days
}

function readExportContents(
  getInput: (name: string) => string,
  get: (name: string) => string,
  ctx: InputContext,
  workspace: string
): ExportContents {
  const file = get('order-file')
  const inline = getInput('export-contents').trim()
  if (file && inline) {
    throw new InputError('order-file', `and ${setting('export-contents')} are both set: give the export contents in one of them only`)
  }
  if (file) checkInside('order-file', file, ctx, workspace)
  const [input, text] = file ? ['order-file', readText('order-file', file, ctx, workspace)] : ['export-contents', get('export-contents')]
  let value: unknown
  try {
    value = parseYaml(text)
  } catch (e) {
    throw new InputError(input, `is not valid JSON or YAML: ${(e as Error).message.split('\n')[0]}`)
  }
  // Accept the whole request body ({"exportContents": {...}}) as well as the contents alone.
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && 'exportContents' in value) {
    value = value.exportContents
  }
  try {
    return validateExportContents(value)
  } catch (e) {
    throw new InputError(input, (e as Error).message)
  }
}

/** order-file must lie in the workspace or the runner's temp folder (links resolved). */
function checkInside(input: string, file: string, ctx: InputContext, workspace: string): void {
  const paths = ctx.path ?? path
  const resolved = paths.resolve(workspace, file)
  let real = resolved
  try {
    real = ctx.realpath ? ctx.realpath(resolved) : resolved
  } catch {
    return // does not exist: readText says so
  }
  const roots = [...new Set([workspace, ctx.env.RUNNER_TEMP].filter((r): r is string => !!r).map(r => paths.resolve(r)))]
  // Windows compares paths without regard to letter case.
  const same = paths === path.win32 ? (s: string) => s.toLowerCase() : (s: string) => s
  if (!roots.some(root => same(real) === same(root) || same(real).startsWith(same(root + paths.sep)))) {
    throw new InputError(input, `must be a file in the workspace (${roots.join(' or ')}); ${resolved} is outside it`)
  }
}

/** `90s`, `15m`, `1h30m` or plain seconds (`600`). */
export function parseDurationInput(text: string): number | undefined {
  const t = text.trim()
  if (/^\d+$/.test(t)) return Number(t) * 1000
  if (!/^(\d+(\.\d+)?\s*[a-z]+\s*)+$/i.test(t)) return undefined
  const ms = parseDuration(t)
  return ms === null || ms === undefined || !Number.isFinite(ms) ? undefined : ms
}

/** The longest wait a Node.js timer can make (2^31-1 ms, just over 24 days); a longer one fires at once. */
const MAX_WAIT_MS = 2 ** 31 - 1

function duration(get: (name: string) => string, name: string): number {
  const v = get(name)
  const ms = parseDurationInput(v)
  if (ms === undefined || ms <= 0) {
    throw new InputError(name, `must be a duration such as 90s, 15m, 1h30m or a number of seconds; got "${v}"`)
  }
  if (ms > MAX_WAIT_MS) {
    throw new InputError(name, `must be at most 24d (the longest wait the runtime can time, 2^31-1 ms); got "${v}"`)
  }
  return ms
}
