// The run, top to bottom as the design draws it:
// inputs → octoplant client → poller → download (+verify) → artifact → outputs & summary.
// Side effects come in through RunDeps; defaultDeps() binds them to the real runner.
import { readFileSync, realpathSync } from 'node:fs'
import * as path from 'node:path'
import * as tls from 'node:tls'
import * as core from '@actions/core'
import { type ArtifactClientLike, isUnsupportedServer, loadArtifactClient, uploadUnavailableReason, uploadZip } from './artifact.js'
import { type Clock, systemClock } from './clock.js'
import { DiskSpaceError, downloadZip, prepareFolder } from './download.js'
import { formatBytes, formatDuration, formatRate, formatSeconds } from './format.js'
import { type Inputs, parseInputs } from './inputs.js'
import type { Logger } from './logger.js'
import { AuthenticationError, OctoplantClient } from './octoplant/client.js'
import { grpcCodeName, type Operation } from '../protocol/protocol.js'
import { createTransport, isTransientError, type Transport } from './octoplant/request.js'
import { DeadlineError, isDone, succeeded, waitForOrder } from './poller.js'
import { lookAtServer } from './preflight.js'
import { type RunReport, renderSummary } from './summary.js'
import { extractZip, InvalidZipError } from './zip.js'

/** The part of @actions/core the run uses. */
export type ActionCore = Pick<
  typeof core,
  'getInput' | 'setOutput' | 'setSecret' | 'setFailed' | 'info' | 'warning' | 'notice' | 'debug' | 'startGroup' | 'endGroup'
> & { summary: { addRaw(text: string, addEOL?: boolean): unknown; write(): Promise<unknown> } }

export interface RunDeps {
  core: ActionCore
  env: Record<string, string | undefined>
  clock: Clock
  readFile: (file: string) => string
  realpath?: (file: string) => string
  loadArtifactClient: () => Promise<ArtifactClientLike>
  /** Adds PEM certificates to the trust store of every TLS connection of the process. */
  trustCertificates: (pem: string) => void
  /** Aborts when the job is cancelled (SIGINT/SIGTERM from the runner). */
  jobSignal?: AbortSignal
}

/** The job was cancelled while the action ran. */
export class CancelledError extends Error {
  constructor(signal: string) {
    super(`the job was cancelled (${signal})`)
    this.name = 'CancelledError'
  }
}

export function defaultDeps(): RunDeps {
  const job = new AbortController()
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => job.abort(new CancelledError(sig)))
  }
  return {
    core,
    env: process.env,
    clock: systemClock,
    readFile: file => readFileSync(file, 'utf8'),
    realpath: file => realpathSync(file),
    loadArtifactClient,
    trustCertificates: pem => tls.setDefaultCACertificates([...tls.getCACertificates('default'), pem]),
    jobSignal: job.signal
  }
}

/** What the run has learnt so far: it feeds the outputs, the summary and the cleanup. */
interface RunState {
  report: RunReport
  inputs?: Inputs
  client?: OctoplantClient
  /** The last answer about the order. */
  current?: Operation
}

export async function run(deps: RunDeps = defaultDeps()): Promise<void> {
  const { core, clock } = deps
  const startedAt = clock.now()
  const state: RunState = { report: { server: '', resumed: false, durations: { total: 0 } } }
  let transport: Transport | undefined
  try {
    const inputs = (state.inputs = await readInputs(deps))
    state.report.server = inputs.serverUrl
    const deadline = startedAt + inputs.timeoutMs
    const signal = AbortSignal.any([...(deps.jobSignal ? [deps.jobSignal] : []), AbortSignal.timeout(inputs.timeoutMs)])
    transport = createTransport({
      baseUrl: inputs.serverUrl,
      ignoreTlsErrors: inputs.insecureSkipTlsVerify,
      signal,
      clock,
      deadline,
      logger: loggerOf(core)
    })
    const client = (state.client = new OctoplantClient({
      transport,
      credentials: inputs,
      onSecret: value => core.setSecret(value),
      now: () => clock.now()
    }))

    // No ::group:: here: state changes and the heartbeat must be visible without expanding anything.
    core.info(`octoplant ${inputs.orderName ? `order ${inputs.orderName}` : 'export'} at ${inputs.serverUrl}`)
    const orderName = await placeOrResume(client, inputs, state, deps)
    await waitUntilDone(client, orderName, deadline, signal, state, deps)
    const zipPath = await download(client, orderName, signal, state, deps)
    await upload(zipPath, state, deps)
  } catch (e) {
    await fail(e, clock.now() - startedAt, state, deps)
  } finally {
    transport?.close()
    state.report.durations.total = clock.now() - startedAt
    await writeSummary(state.report, core)
  }
}

/** Inputs: everything checked before the first connection (the output folder too); secrets masked
 *  before anything prints. */
async function readInputs(deps: RunDeps): Promise<Inputs> {
  const { core, env } = deps
  // Untrimmed: a password may begin or end with spaces; parseInputs trims every other input itself.
  const getInput = (name: string) => core.getInput(name, { trimWhitespace: false })
  const password = getInput('password')
  if (password) core.setSecret(password)
  const inputs = parseInputs(getInput, { env, readFile: deps.readFile, realpath: deps.realpath })
  core.setSecret(inputs.clientSecret)
  if (inputs.uploadArtifact && isUnsupportedServer(env)) {
    throw new Error(
      `upload-artifact is not supported on GitHub Enterprise Server (${env.GITHUB_SERVER_URL}): set upload-artifact: false and keep the ZIP with your own step (zip-path output)`
    )
  }
  if (inputs.caCertificates) deps.trustCertificates(inputs.caCertificates)
  if (inputs.insecureSkipTlsVerify) {
    core.warning('insecure-skip-tls-verify is true: the server certificate is NOT checked, so anyone on the network path could read the password. Use ca-certificate instead.')
  }
  if (inputs.serverUrl.startsWith('http://')) core.warning('server-url uses plain http://: the password crosses the network unencrypted.')
  await prepareFolder(inputs.path)
  return inputs
}

/** Octoplant client: sign in, look at the server (versions, maintenance mode: informs, never
 *  blocks), then place the order or take the named one. Sets order-name and state as soon as they are known. */
async function placeOrResume(client: OctoplantClient, inputs: Inputs, state: RunState, { core }: RunDeps): Promise<string> {
  await client.authenticate()
  core.info(`Signed in as ${inputs.username}.`)
  state.report.serverInfo = await lookAtServer(client, loggerOf(core))
  let name: string
  if (inputs.orderName) {
    name = inputs.orderName
    state.report.resumed = true
    core.info(`Resuming order ${name}; no new order is placed.`)
  } else {
    core.info(`Ordering: ${JSON.stringify(inputs.exportContents)}`)
    const placed = await client.placeOrder(inputs.exportContents!)
    if (!placed.name) throw new Error('the server accepted the order but returned no order name')
    name = placed.name
    core.info(`Order ${name} placed.`)
    observe(placed, state, core)
  }
  state.report.orderName = name
  core.setOutput('order-name', name)
  return name
}

/** Poller: wait until the order is done, under the one deadline; fail when it failed. */
async function waitUntilDone(
  client: OctoplantClient,
  name: string,
  deadline: number,
  signal: AbortSignal,
  state: RunState,
  { core, clock }: RunDeps
): Promise<void> {
  const result = await waitForOrder({
    name,
    getOrder: n => client.getOrder(n),
    clock,
    startedAt: clock.now(),
    deadline,
    maxIntervalMs: state.inputs!.maxPollIntervalMs,
    logger: loggerOf(core),
    signal,
    isTransient: isTransientError,
    initialState: state.current?.metadata?.state,
    onUpdate: op => observe(op, state, core)
  })
  Object.assign(state.report, { polls: result.polls })
  Object.assign(state.report.durations, { queued: result.queuedMs, running: result.runningMs })
  const op = result.operation
  if (!succeeded(op)) {
    const e = op.error
    const during = op.metadata?.currentSubProcess ? ` during "${op.metadata.currentSubProcess}"` : ''
    throw new Error(
      `order ${name} failed on the server${during}: ${e ? `${grpcCodeName(e.code)}: ${e.message || '(no message)'}` : `state ${op.metadata?.state ?? 'unknown'}`}`
    )
  }
}

/** Download: stream to disk, hash, verify (fetched again when broken); extract when asked. */
async function download(client: OctoplantClient, name: string, signal: AbortSignal, state: RunState, { core }: RunDeps): Promise<string> {
  const inputs = state.inputs!
  const zipFile = path.join(inputs.path, `${inputs.artifactName ?? `octoplant-export-${name}`}.zip`)
  const saved = await downloadZip(() => client.download(name), zipFile, { signal, logger: loggerOf(core), spaceFactor: inputs.extract ? 2 : 1 })
  Object.assign(state.report.durations, { download: saved.streamMs, check: saved.verifyMs })
  state.report.zip = { ...saved, entries: saved.report.entries, contentsJson: saved.report.contentsJson }
  core.info(
    `Saved ${saved.path}: ${formatBytes(saved.size)} (${saved.size} bytes), sha256 ${saved.sha256}, ${saved.report.entries.length} entries, CRCs verified.` +
      ` Received in ${formatSeconds(saved.streamMs)} (${formatRate(saved.size, saved.streamMs)}), checked in ${formatSeconds(saved.verifyMs)}` +
      `${saved.attempts > 1 ? `, ${saved.attempts} attempts` : ''}.`
  )
  core.setOutput('zip-path', saved.path)
  core.setOutput('zip-size', String(saved.size))
  core.setOutput('zip-sha256', saved.sha256)

  if (inputs.extract) {
    const dir = path.join(inputs.path, name)
    const count = await extractZip(saved.path, dir).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e
      throw new DiskSpaceError(
        `the disk filled up while extracting the export into ${dir} (extract: true). The ZIP itself is saved at ${saved.path}. Free space there, or set the path input to a folder on a larger disk`
      )
    })
    state.report.extractPath = dir
    core.setOutput('extract-path', dir)
    core.info(`Extracted ${count} entries into ${dir}.`)
  }
  return saved.path
}

/** Artifact: the ZIP as is, when asked and when this job has an artifact service. */
async function upload(zipPath: string, state: RunState, deps: RunDeps): Promise<void> {
  const { core, clock, env } = deps
  const { report, inputs } = state
  const unavailable = inputs!.uploadArtifact ? uploadUnavailableReason(env) : 'upload-artifact is false'
  if (unavailable) {
    report.artifactSkipped = unavailable
    if (inputs!.uploadArtifact) core.notice(`Artifact upload skipped: ${unavailable}. The ZIP stays at ${zipPath}.`)
    return
  }
  const started = clock.now()
  const uploaded = await uploadZip(await deps.loadArtifactClient(), zipPath, inputs!.retentionDays, env)
  report.durations.upload = clock.now() - started
  report.artifact = uploaded
  core.setOutput('artifact-name', uploaded.name)
  if (uploaded.id !== undefined) core.setOutput('artifact-id', String(uploaded.id))
  if (uploaded.url) core.setOutput('artifact-url', uploaded.url)
  if (uploaded.digest) core.setOutput('artifact-digest', uploaded.digest)
  core.info(`Uploaded artifact ${uploaded.name}${uploaded.id !== undefined ? ` (id ${uploaded.id})` : ''}.`)
}

/** Records an answer about the order; the state output follows every change. */
function observe(op: Operation, state: RunState, core: ActionCore): void {
  state.current = op
  const s = op.metadata?.state
  if (s && s !== state.report.state) {
    state.report.state = s
    core.setOutput('state', s)
  }
}

/** Cancels the order when giving up on it, then sets error-message and fails the step with what
 *  went wrong and the way back: the same words in the output, the log and the summary. */
async function fail(e: unknown, elapsedMs: number, state: RunState, { core }: RunDeps): Promise<void> {
  const { client, report, inputs, current } = state
  const name = report.orderName
  let next = ''
  // A hostile ZIP: fetching it again gives the same one, so there is no way back to offer.
  const hostileZip = e instanceof InvalidZipError && !e.retryable
  if (name && current && succeeded(current)) {
    if (!hostileZip) {
      report.orderOutcome = 'finished'
      next = `The export is finished on the server; re-run with order-name: ${name} to fetch it without exporting again.`
    }
  } else if (name && client && inputs && isGivingUp(e)) {
    const outcome = await cancelOrder(client, name, inputs, core)
    report.orderOutcome = outcome.cancelled ? 'cancelled' : 'left-running'
    next = outcome.cancelled
      ? `Order ${name} was cancelled on the server; run again to export anew.`
      : `Order ${name} is left running on the server (${outcome.why}); re-run with order-name: ${name} to resume it.`
  } else if (name && !(current && isDone(current))) {
    report.orderOutcome = 'left-running'
    next = `Order ${name} may still be running on the server; re-run with order-name: ${name} to resume it.`
  }
  const what = explain(e, elapsedMs)
  const message = next ? `${/[.!?]$/.test(what) ? what : `${what}.`} ${next}` : what
  report.error = message
  core.setOutput('error-message', message)
  core.setFailed(message)
}

async function writeSummary(report: RunReport, core: ActionCore): Promise<void> {
  if (!report.server) return // the inputs were refused: the one-line error says it all
  try {
    core.summary.addRaw(renderSummary(report), true)
    await core.summary.write()
  } catch (e) {
    core.warning(`could not write the job summary: ${(e as Error).message}`)
  }
}

function loggerOf(core: ActionCore): Logger {
  return { debug: m => core.debug(m), info: m => core.info(m), warning: m => core.warning(m) }
}

/** The deadline passed or the job was cancelled while the order was not done. */
function isGivingUp(e: unknown): boolean {
  return e instanceof DeadlineError || e instanceof CancelledError || (e instanceof DOMException && e.name === 'TimeoutError')
}

/** Cancels the order (cancel-on-timeout), with a short time of its own: the run's signal has fired. */
async function cancelOrder(client: OctoplantClient, name: string, inputs: Inputs, core: ActionCore): Promise<{ cancelled: boolean; why?: string }> {
  if (!inputs.cancelOnTimeout) return { cancelled: false, why: 'cancel-on-timeout: false' }
  const transport = createTransport({
    baseUrl: inputs.serverUrl,
    ignoreTlsErrors: inputs.insecureSkipTlsVerify,
    signal: AbortSignal.timeout(5000)
  })
  try {
    await client.withTransport(transport).cancelOrder(name)
    core.info(`Cancelled order ${name} on the server.`)
    return { cancelled: true }
  } catch (e) {
    return { cancelled: false, why: `cancelling it failed: ${(e as Error).message}` }
  } finally {
    transport.close()
  }
}

function explain(e: unknown, elapsedMs: number): string {
  if (e instanceof DOMException && e.name === 'TimeoutError') {
    return `gave up after ${formatDuration(elapsedMs)}: the timeout input was reached`
  }
  if (e instanceof CancelledError) return `${e.message} after ${formatDuration(elapsedMs)}`
  if (e instanceof AuthenticationError || e instanceof DeadlineError) return e.message
  return e instanceof Error ? e.message : String(e)
}
