// The GitHub Action: the front end around the export engine. It reads the inputs (masking secrets
// first), hands the engine its settings, maps the engine's events to outputs and log lines, uploads
// the ZIP as an artifact under the engine's deadline, and writes the job summary.
import type { Secrets } from '../base/secrets.js'
import { renderAll } from '../base/setting-ref.js'
import { runtimeProblem } from '../shared/runtime.js'
import { checkBeforeConnecting } from '../shared/before-connecting.js'
import type { Evidence } from '../engine/evidence/make.js'
import { CancelledError, type ExportHost, runExport } from '../engine/export.js'
import type { SavedZip } from '../engine/save-zip.js'
import { InputError, type Inputs, parseInputs } from '../shared/inputs.js'
import { githubOrigin } from '../shared/origin.js'
import { VERSION } from '../shared/version.js'
import { evidenceOutputs, OUTPUTS } from '../shared/outputs.js'
import { EVIDENCE_FILES } from '../engine/evidence/files.js'
import { type ArtifactClientLike, loadArtifactClient, uploadUnavailableReason, uploadFile } from './artifact.js'
import { findPreviousRecord, githubPreviousDeps, type PreviousDeps } from './previous.js'
import { actionLine, type ActionCore, actionSetting, actionText, defaultStepDeps, POST_STATE, readStepConnection, type StepDeps, stepSecrets, untrimmedInputs } from './step.js'
import { type ActionReport, renderSummary } from './summary.js'

export type { ActionCore }

export interface RunDeps extends StepDeps {
  loadArtifactClient: () => Promise<ArtifactClientLike>
  /** Aborts when the job is cancelled (SIGINT/SIGTERM from the runner). */
  jobSignal?: AbortSignal
  /** How compare-with-previous lists and fetches earlier runs' records (default: GitHub's API). */
  previousDeps?: (token: string, env: Record<string, string | undefined>, tempDir: string) => Promise<PreviousDeps>
  /** This Action's version, for the export record. */
  version?: string
}

export function defaultDeps(): RunDeps {
  const job = new AbortController()
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => job.abort(new CancelledError(sig)))
  }
  return { ...defaultStepDeps(), loadArtifactClient: () => loadArtifactClient(process.env), jobSignal: job.signal, previousDeps: githubPreviousDeps, version: VERSION }
}

/** The inputs, every secret masked before anything prints, and the extra CAs trusted. */
export function parseActionInputs(deps: StepDeps, secrets: ReturnType<typeof stepSecrets>): Inputs {
  readStepConnection(deps, secrets)
  return parseInputs(untrimmedInputs(deps.core), { env: deps.env, readFile: deps.readFile, realpath: deps.realpath })
}

export async function run(deps: RunDeps = defaultDeps()): Promise<void> {
  const { core } = deps
  if (deps.env.GITHUB_ACTIONS !== 'true') {
    // Outside a runner nobody reads ::add-mask::, and the line itself would show the password.
    core.setFailed(
      'this is the GitHub Action (dist/index.js) and GITHUB_ACTIONS is not set: outside GitHub Actions, run the octoplant-export command (dist/cli/index.js, see "Other CI systems" in the README)'
    )
    return
  }
  const runtime = runtimeProblem(process.versions.node)
  if (runtime) {
    core.setOutput(OUTPUTS.errorMessage, `the action ${runtime}`)
    core.setFailed(`the action ${runtime}`)
    return
  }
  const secrets = stepSecrets(core)
  let inputs: Inputs
  try {
    inputs = await readInputs(deps, secrets)
  } catch (e) {
    // Refused before any connection: the one-line error says it all, no summary.
    const message = e instanceof InputError ? `Input '${e.input}' ${e.problem}` : (e as Error).message
    core.setOutput(OUTPUTS.errorMessage, actionText(secrets)(message))
    core.setFailed(actionLine(secrets)(message))
    return
  }
  const upload: Pick<ActionReport, 'artifact' | 'artifactSkipped' | 'artifactService' | 'uploadMs' | 'evidenceArtifacts'> = {}
  const report = await runExport(inputs, hostFor(core, inputs, secrets), {
    clock: deps.clock,
    signal: deps.jobSignal,
    finish: (zip, evidence, signal) => uploadArtifacts(zip, evidence, signal, inputs, deps, upload),
    provenance: { tool: { name: 'octoplant-export-action', version: deps.version ?? 'unknown' }, ranBy: githubOrigin(deps.env) },
    findPrevious: inputs.compareWithPrevious ? () => findPrevious(inputs, deps) : undefined
  })
  // Main is done with the order, whatever became of it: the post step has nothing to undo.
  core.saveState(POST_STATE.settled, 'true')
  // The gate is judged after the ZIP and its evidence were kept: a failed gate loses nothing.
  const failure = report.error ?? report.gateFailure
  if (failure) {
    core.setOutput(OUTPUTS.errorMessage, actionText(secrets)(failure))
    core.setFailed(actionLine(secrets)(failure))
  }
  // The summary quotes the report's words through untrusted(): their settings are spelled first.
  await writeSummary(renderAll({ ...report, ...upload }, actionSetting), core, secrets)
}

/** compare-with-previous: the newest earlier record of this artifact-name in the repository. */
async function findPrevious(inputs: Inputs, deps: RunDeps): Promise<string | undefined> {
  const tempDir = deps.env.RUNNER_TEMP || deps.env.TMPDIR || '/tmp'
  const previousDeps = await (deps.previousDeps ?? githubPreviousDeps)(inputs.githubToken, deps.env, tempDir)
  const found = await findPreviousRecord(inputs.artifactName!, previousDeps)
  deps.core.info(found ? `Comparing with the previous export's record ${found}.` : `No earlier ${inputs.artifactName} export in this repository.`)
  return found
}

/** Inputs: everything checked before the first connection (the output folder too); secrets masked
 *  before anything prints. */
async function readInputs(deps: RunDeps, secrets: ReturnType<typeof stepSecrets>): Promise<Inputs> {
  const { core } = deps
  const inputs = parseActionInputs(deps, secrets)
  if (inputs.insecureSkipTlsVerify) {
    core.warning('insecure-skip-tls-verify is true: the server certificate is NOT checked, so anyone on the network path could read the password. Use ca-certificate instead.')
  }
  if (inputs.serverUrl.startsWith('http://')) core.warning('server-url uses plain http://: the password crosses the network unencrypted.')
  await checkBeforeConnecting(inputs, m => core.warning(actionLine(secrets)(m)))
  core.info(`octoplant ${inputs.orderName ? `order ${inputs.orderName}` : 'export'} at ${inputs.serverUrl}`)
  return inputs
}

/** The engine's events as outputs (set as soon as known, so a killed step still hands them on) and
 *  log lines. No ::group::: state changes and the heartbeat must be visible without expanding. An
 *  order this run places is saved for the post step at once, so a killed job can still cancel it.
 *  Every line passes commandFree(): what it quotes from the server can start no workflow command
 *  (chosen over ::stop-commands::, which would also stop the ::add-mask:: of each token the server
 *  issues mid-run). */
function hostFor(core: ActionCore, inputs: Inputs, secrets: ReturnType<typeof stepSecrets>): ExportHost {
  const line = actionLine(secrets)
  return {
    debug: m => core.debug(line(m)),
    info: m => core.info(line(m)),
    warning: m => core.warning(line(m)),
    secret: v => secrets.register(v),
    orderNamed: name => {
      core.setOutput(OUTPUTS.orderName, name)
      if (!inputs.orderName) {
        core.saveState(POST_STATE.orderName, name)
        core.saveState(POST_STATE.cancelOnTimeout, String(inputs.cancelOnTimeout))
      }
    },
    stateChanged: state => {
      core.setOutput(OUTPUTS.state, state)
      // A finished order is nothing to cancel: one that succeeded can still be fetched with order-name.
      if (state === 'STATE_SUCCEEDED' || state === 'STATE_FAILED') core.saveState(POST_STATE.settled, 'true')
    },
    zipSaved: (zip: SavedZip) => {
      core.setOutput(OUTPUTS.zipPath, zip.path)
      core.setOutput(OUTPUTS.zipSize, String(zip.size))
      core.setOutput(OUTPUTS.zipSha256, zip.sha256)
    },
    extracted: dir => core.setOutput(OUTPUTS.extractPath, dir),
    evidenceKept: (evidence: Evidence) => {
      for (const [name, value] of evidenceOutputs(evidence)) {
        if (value !== undefined) core.setOutput(name, String(value))
      }
    }
  }
}

/** Artifacts: the ZIP as is, then its evidence (record, manifest, change report) each as an artifact
 *  of its own file name, when asked and when this job has an artifact service; under the run's
 *  deadline (the engine stops waiting for it when the signal fires). The record's artifact is how a
 *  later run's compare-with-previous finds this export. */
async function uploadArtifacts(
  zip: SavedZip,
  evidence: Evidence,
  signal: AbortSignal,
  inputs: Inputs,
  deps: RunDeps,
  into: Pick<ActionReport, 'artifact' | 'artifactSkipped' | 'artifactService' | 'uploadMs' | 'evidenceArtifacts'>
): Promise<void> {
  const { core, clock, env } = deps
  const unavailable = inputs.uploadArtifact ? uploadUnavailableReason(env) : 'upload-artifact is false'
  if (unavailable) {
    into.artifactSkipped = unavailable
    if (inputs.uploadArtifact) core.notice(`Artifact upload skipped: ${unavailable}. The ZIP stays at ${zip.path}.`)
    return
  }
  const started = clock.now()
  const client = await deps.loadArtifactClient()
  signal.throwIfAborted()
  if (client.service) {
    into.artifactService = client.service
    core.info(`Artifacts go to ${client.service}.`)
  }
  const uploaded = await uploadFile(client, zip.path, inputs.retentionDays, env)
  into.artifact = uploaded
  core.setOutput(OUTPUTS.artifactName, uploaded.name)
  if (uploaded.id !== undefined) core.setOutput(OUTPUTS.artifactId, String(uploaded.id))
  if (uploaded.url) core.setOutput(OUTPUTS.artifactUrl, uploaded.url)
  if (uploaded.digest) core.setOutput(OUTPUTS.artifactDigest, uploaded.digest)
  core.info(`Uploaded artifact ${uploaded.name}${uploaded.id !== undefined ? ` (id ${uploaded.id})` : ''}.`)
  into.evidenceArtifacts = []
  for (const file of EVIDENCE_FILES.filter(f => f.uploaded).map(f => evidence[f.field])) {
    if (!file) continue
    signal.throwIfAborted()
    const kept = await uploadFile(client, file, inputs.retentionDays, env)
    into.evidenceArtifacts.push(kept)
    core.info(`Uploaded artifact ${kept.name}${kept.id !== undefined ? ` (id ${kept.id})` : ''}.`)
  }
  into.uploadMs = clock.now() - started
}

async function writeSummary(report: ActionReport, core: ActionCore, secrets: Secrets): Promise<void> {
  try {
    core.summary.addRaw(actionText(secrets)(renderSummary(report)), true)
    await core.summary.write()
  } catch (e) {
    core.warning(`could not write the job summary: ${(e as Error).message}`)
  }
}
