// The run, top to bottom as the design draws it:
// inputs → octoplant client → poller → download (+verify) → artifact → outputs & summary.
// Side effects come in through RunDeps; defaultDeps() binds them to the real runner.
import { readFileSync, realpathSync } from 'node:fs'
import * as path from 'node:path'
import * as tls from 'node:tls'
import * as core from '@actions/core'
import { type ArtifactClientLike, isUnsupportedServer, loadArtifactClient, uploadUnavailableReason, uploadZip } from './artifact.js'
import { type Clock, systemClock } from './clock.js'
import { downloadZip } from './download.js'
import { type Inputs, parseInputs } from './inputs.js'
import type { Logger } from './logger.js'
import { AuthenticationError, OctoplantClient } from './octoplant/client.js'
import { grpcCodeName, type Operation } from './octoplant/protocol.js'
import { createTransport, isTransientError, type Transport } from './octoplant/request.js'
import { DeadlineError, formatDuration, succeeded, waitForOrder } from './poller.js'
import { type RunReport, renderSummary } from './summary.js'
import { extractZip } from './zip.js'

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

export async function run(deps: RunDeps = defaultDeps()): Promise<void> {
  const { core, clock, env } = deps
  const startedAt = clock.now()
  const report: RunReport = { server: '', resumed: false, durations: { total: 0 } }
  const log: Logger = { debug: m => core.debug(m), info: m => core.info(m), warning: m => core.warning(m) }
  let transport: Transport | undefined
  let client: OctoplantClient | undefined
  let inputs: Inputs | undefined
  let current: Operation | undefined

  const setState = (op: Operation) => {
    const state = op.metadata?.state
    if (state && state !== report.state) {
      report.state = state
      core.setOutput('state', state)
    }
  }

  try {
    // ── inputs: everything checked before the first connection ──
    const password = core.getInput('password')
    if (password) core.setSecret(password)
    inputs = parseInputs(name => core.getInput(name), { env, readFile: deps.readFile, realpath: deps.realpath })
    core.setSecret(inputs.clientSecret)
    report.server = inputs.serverUrl
    if (inputs.uploadArtifact && isUnsupportedServer(env)) {
      throw new Error(
        `upload-artifact is not supported on GitHub Enterprise Server (${env.GITHUB_SERVER_URL}): set upload-artifact: false and keep the ZIP with your own step (zip-path output)`
      )
    }
    if (inputs.caCertificates) deps.trustCertificates(inputs.caCertificates)
    if (inputs.insecureSkipTlsVerify) {
      core.warning('insecure-skip-tls-verify is true: the server certificate is NOT checked, so anyone on the network path could read the password. Use ca-certificate instead.')
    }
    if (inputs.serverUrl.startsWith('http://')) core.warning(`server-url uses plain http://: the password crosses the network unencrypted.`)

    const deadline = startedAt + inputs.timeoutMs
    const runSignal = AbortSignal.any([
      ...(deps.jobSignal ? [deps.jobSignal] : []),
      AbortSignal.timeout(inputs.timeoutMs)
    ])
    transport = createTransport({
      baseUrl: inputs.serverUrl,
      ignoreTlsErrors: inputs.insecureSkipTlsVerify,
      signal: runSignal,
      clock,
      deadline,
      logger: log
    })
    client = new OctoplantClient({
      transport,
      credentials: inputs,
      onSecret: value => core.setSecret(value),
      now: () => clock.now()
    })

    // ── octoplant client: sign in, place (or resume) the order ──
    core.startGroup(`octoplant ${inputs.orderName ? 'order ' + inputs.orderName : 'export'} at ${inputs.serverUrl}`)
    let orderName: string
    let orderedAt: number
    try {
      await client.authenticate()
      core.info(`Signed in as ${inputs.username}.`)
      if (inputs.orderName) {
        orderName = inputs.orderName
        report.resumed = true
        core.info(`Resuming order ${orderName}; no new order is placed.`)
      } else {
        const maintenance = await client.maintenanceMode()
        if (maintenance?.active) {
          throw new Error(
            `octoplant is in maintenance mode (reason ${maintenance.reason ?? 'UNSPECIFIED'}${maintenance.activatedAt ? `, since ${maintenance.activatedAt}` : ''}${maintenance.computerName ? `, set from ${maintenance.computerName}` : ''}): no export can run now. Try again when it is over.`
          )
        }
        core.info(`Ordering: ${JSON.stringify(inputs.exportContents)}`)
        current = await client.placeOrder(inputs.exportContents!)
        if (!current.name) throw new Error('the server accepted the order but returned no order name')
        orderName = current.name
        core.info(`Order ${orderName} placed.`)
      }
      report.orderName = orderName
      core.setOutput('order-name', orderName)
      if (current) setState(current)
      orderedAt = clock.now()

      // ── poller: wait until done, under the one deadline ──
      const result = await waitForOrder({
        name: orderName,
        getOrder: name => client!.getOrder(name),
        clock,
        startedAt: orderedAt,
        deadline,
        maxIntervalMs: inputs.maxPollIntervalMs,
        logger: log,
        signal: runSignal,
        isTransient: isTransientError,
        initialState: current?.metadata?.state,
        onUpdate: op => {
          current = op
          setState(op)
        }
      })
      current = result.operation
      report.polls = result.polls
      report.durations.queued = result.queuedMs
      report.durations.running = result.runningMs
    } finally {
      core.endGroup()
    }
    if (!succeeded(current)) {
      const e = current.error
      throw new Error(
        `order ${orderName} failed on the server: ${e ? `${grpcCodeName(e.code)}: ${e.message || '(no message)'}` : `state ${current.metadata?.state ?? 'unknown'}`}`
      )
    }

    // ── download: stream to disk, hash, verify ──
    const artifactName = inputs.artifactName ?? `octoplant-export-${orderName}`
    const zipFile = path.join(inputs.path, `${artifactName}.zip`)
    const downloadStart = clock.now()
    const saved = await downloadZip(() => client!.download(orderName), zipFile, { signal: runSignal, logger: log })
    report.durations.download = clock.now() - downloadStart
    report.zip = { ...saved, entries: saved.report.entries, contentsJson: saved.report.contentsJson }
    const mibPerSecond = saved.size / 1024 / 1024 / Math.max(saved.streamMs / 1000, 0.001)
    core.info(
      `Saved ${saved.path}: ${saved.size} bytes, sha256 ${saved.sha256}, ${saved.report.entries.length} entries, CRCs verified` +
        ` (received in ${(saved.streamMs / 1000).toFixed(2)}s at ${mibPerSecond.toFixed(0)} MiB/s, checked in ${(saved.verifyMs / 1000).toFixed(2)}s` +
        `${saved.attempts > 1 ? `, ${saved.attempts} attempts` : ''}).`
    )
    core.setOutput('zip-path', saved.path)
    core.setOutput('zip-size', String(saved.size))
    core.setOutput('zip-sha256', saved.sha256)

    if (inputs.extract) {
      const dir = path.join(inputs.path, orderName)
      const count = await extractZip(saved.path, dir)
      report.extractPath = dir
      core.setOutput('extract-path', dir)
      core.info(`Extracted ${count} entries into ${dir}.`)
    }

    // ── artifact ──
    if (inputs.uploadArtifact) {
      const unavailable = uploadUnavailableReason(env)
      if (unavailable) {
        report.artifactSkipped = unavailable
        core.notice(`Artifact upload skipped: ${unavailable}. The ZIP stays at ${saved.path}.`)
      } else {
        const uploadStart = clock.now()
        const uploaded = await uploadZip(await deps.loadArtifactClient(), saved.path, inputs.retentionDays, env)
        report.durations.upload = clock.now() - uploadStart
        report.artifact = uploaded
        core.setOutput('artifact-name', uploaded.name)
        if (uploaded.id !== undefined) core.setOutput('artifact-id', String(uploaded.id))
        if (uploaded.url) core.setOutput('artifact-url', uploaded.url)
        if (uploaded.digest) core.setOutput('artifact-digest', uploaded.digest)
        core.info(`Uploaded artifact ${uploaded.name}${uploaded.id !== undefined ? ` (id ${uploaded.id})` : ''}.`)
      }
    } else {
      report.artifactSkipped = 'upload-artifact is false'
    }
  } catch (e) {
    const message = explain(e, clock.now() - startedAt)
    report.error = message
    core.setOutput('error-message', message)
    if (client && report.orderName && current && !succeeded(current) && isGivingUp(e)) {
      await cancelOrder(client, report.orderName, inputs!, core)
    }
    core.setFailed(message)
  } finally {
    transport?.close()
    report.durations.total = clock.now() - startedAt
    if (report.server) {
      try {
        core.summary.addRaw(renderSummary(report), true)
        await core.summary.write()
      } catch (e) {
        core.warning(`could not write the job summary: ${(e as Error).message}`)
      }
    }
  }
}

/** The deadline passed or the job was cancelled while the order was not done. */
function isGivingUp(e: unknown): boolean {
  return e instanceof DeadlineError || e instanceof CancelledError || (e instanceof DOMException && e.name === 'TimeoutError')
}

async function cancelOrder(client: OctoplantClient, name: string, inputs: Inputs, core: ActionCore): Promise<void> {
  if (!inputs.cancelOnTimeout) {
    core.warning(`Order ${name} is left running on the server (cancel-on-timeout: false); resume it with order-name: ${name}.`)
    return
  }
  const transport = createTransport({
    baseUrl: inputs.serverUrl,
    ignoreTlsErrors: inputs.insecureSkipTlsVerify,
    signal: AbortSignal.timeout(5000)
  })
  try {
    await client.withTransport(transport).cancelOrder(name)
    core.info(`Cancelled order ${name} on the server.`)
  } catch (e) {
    core.warning(`Could not cancel order ${name} on the server: ${(e as Error).message}`)
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
