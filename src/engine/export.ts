// The export engine: sign in → look at the server → place or resume the order → wait → download and
// verify → extract → the front end's finishing step (the Action's upload), all under one deadline and
// one abort signal. It knows no host: what happens is reported through ExportHost, and the outcome,
// failure included, comes back as an ExportReport. Failures say what to do next.
import * as path from 'node:path'
import type { Operation, OrderState } from '../../protocol/protocol.js'
import { isTransientError } from '../octoplant/request.js'
import { connect, type TransportFactory } from './connect.js'
import { abortable, abortReason, type Clock } from '../base/clock.js'
import { type Deadline, deadlineAfter } from '../base/deadline.js'
import { formatBytes, formatRate, formatSeconds } from '../base/format.js'
import type { Logger } from '../base/logger.js'
import { fileNameFor, unsafeNameProblem } from '../base/safe-name.js'
import { Secrets } from '../base/secrets.js'
import { quoted, untrusted } from '../base/untrusted.js'
import { diskFilledWhileExtracting, ensureRoomToExtract } from './disk-space.js'
import { downloadZip } from './download.js'
import { judgeGate } from './evidence/gate.js'
import { isUnequalJobResultsName, UNEQUAL_JOB_RESULTS } from './evidence/job-results.js'
import { EVIDENCE_FILES } from './evidence/files.js'
import { type Evidence, evidenceFiles, makeEvidence } from './evidence/make.js'
import type { RunOrigin } from './evidence/record.js'
import { CancelledError, explain, isGivingUp, orderFailed } from './failures.js'
import { describeProgress, isDone, succeeded, toCount, UnknownOrderError, waitForOrder } from './poller.js'
import { OutputSet } from './output-set.js'
import { lookAtServer, type ServerInfo } from './preflight.js'
import type { SavedZip } from './save-zip.js'
import type { ExportSettings } from './settings.js'
import type { ZipReport } from './zip/check.js'
import { extractZip } from './zip/extract.js'
import { InvalidZipError } from './zip/format.js'
import { setting } from '../base/setting-ref.js'

/** What the engine tells its front end while it runs. */
export interface ExportHost extends Logger {
  /** A value no log may show (each token the server issues), before it is used. */
  secret(value: string): void
  /** The order's name, as soon as it is known (placed, or taken from the settings). */
  orderNamed(name: string): void
  /** Every change of the order's state. */
  stateChanged(state: OrderState): void
  /** The verified ZIP, and the folder it was extracted to. */
  zipSaved(zip: SavedZip): void
  extracted(dir: string): void
  /** The manifest, record and change report are written (before the front end keeps them). */
  evidenceKept?(evidence: Evidence): void
  /** Where the run is, for a live status line: often (every chunk of the download), so cheap. */
  progress?(update: ExportProgress): void
}

/** The order's state and the server's progress while waiting; the bytes received while downloading. */
export type ExportProgress = { stage: 'waiting'; order: string } | { stage: 'downloading'; received: number; total?: number }

export interface ExportDeps {
  clock: Clock
  /** Aborts when the job or the person cancels (SIGINT/SIGTERM). */
  signal?: AbortSignal
  /** Aborts when the person presses Ctrl-C again while the order is being cancelled: the run stops
   *  waiting for the cancel and says whether it was sent. */
  hurry?: AbortSignal
  /** Work on the saved ZIP and its evidence under the same deadline and signal (the Action's
   *  artifact upload). */
  finish?: (zip: SavedZip, evidence: Evidence, signal: AbortSignal) => Promise<void>
  /** Who runs the export, for its record. */
  provenance: { tool: { name: string; version: string }; ranBy: RunOrigin }
  /** The request layer (default: HTTP); the engine's tests pass a fake. */
  transport?: TransportFactory
  /** Finds the previous export to compare with (the Action's compare-with-previous): the path of its
   *  ZIP or record, or undefined when there is none. */
  findPrevious?: (signal: AbortSignal) => Promise<string | undefined>
}

/** What the run found out: the front ends turn it into outputs, a summary or a JSON document. */
export interface ExportReport {
  server: string
  serverInfo?: ServerInfo
  /** How the run signed in ("access token, exchanged for a session token", …). */
  signedInWith?: string
  orderName?: string
  resumed: boolean
  state?: OrderState
  /** What became of the order when the run failed after it existed. */
  orderOutcome?: 'finished' | 'cancelled' | 'left-running'
  /** The failure with the way back; absent on success. */
  error?: string
  durations: { queued?: number; running?: number; download?: number; check?: number; extract?: number; total: number }
  polls?: number
  zip?: { path: string; size: number; sha256: string } & ZipReport
  extractPath?: string
  /** The manifest, the record, the change report and the job results counted. */
  evidence?: Evidence
  /** The export succeeded and its evidence is kept, but fail-on found a deviation. */
  gateFailure?: string
}

/** The time a cancel of the order may take after the run gave up on it. */
const CANCEL_TIMEOUT_MS = 5_000

export { CancelledError }

export function runExport(settings: ExportSettings, host: ExportHost, deps: ExportDeps): Promise<ExportReport> {
  return new ExportRun(settings, host, deps).run()
}

/** One run of the engine: its deadline and signal, its connection, and what it found out so far. */
class ExportRun {
  private readonly startedAt: number
  private readonly deadline: Deadline
  private readonly signal: AbortSignal
  private readonly report: ExportReport
  private readonly connection: ReturnType<typeof connect>
  /** The last answer about the order. */
  private current?: Operation
  /** Every secret of the run in every spelling: no error message or record holds one. */
  private readonly secrets = new Secrets()
  /** The files this run leaves, put in place together once all are complete. */
  private readonly outputs = new OutputSet()
  /** The order's name as the server knows it (sent back URL-encoded), and on disk (its own, or a
   *  safe form of it). Messages show it through untrusted(). */
  private orderName?: string
  private fileName = ''

  constructor(
    private readonly settings: ExportSettings,
    private readonly host: ExportHost,
    private readonly deps: ExportDeps
  ) {
    this.startedAt = deps.clock.now()
    this.deadline = deadlineAfter(deps.clock, settings.timeoutMs)
    this.signal = AbortSignal.any([...(deps.signal ? [deps.signal] : []), this.deadline.signal])
    this.report = { server: settings.serverUrl, resumed: !!settings.orderName, durations: { total: 0 } }
    for (const secret of [settings.password, settings.accessToken, settings.clientSecret]) this.secrets.add(secret)
    this.connection = connect(settings, { ...host, secret: value => (this.secrets.add(value), host.secret(value)) }, deps.clock, this.deadline, deps.transport)
  }

  /** sign in → look at the server → order → wait → download + verify → extract → finish. */
  async run(): Promise<ExportReport> {
    try {
      await this.signIn()
      const name = await this.placeOrResume()
      await this.waitFor(name)
      const zipPlace = path.join(this.settings.path, `${this.settings.artifactName ?? `octoplant-export-${this.fileName}`}.zip`)
      const saved = await this.download(name, zipPlace)
      const extracted = this.settings.extract ? await this.extract(saved) : undefined
      const evidence = await this.keepEvidence(saved, name, zipPlace)
      const kept = await this.putInPlace(saved, zipPlace, extracted, evidence)
      if (this.deps.finish) await abortable(this.deps.finish(kept, evidence, this.signal), this.signal)
      this.judge(evidence)
    } catch (e) {
      await this.outputs.discard()
      // A file read or stream stopped by the run's signal throws an AbortError: the deadline or the
      // cancel is what happened.
      const cause = this.signal.aborted && (e as Error)?.name === 'AbortError' ? abortReason(this.signal) : e
      this.report.error = this.secrets.mask(await this.wayBack(cause))
    } finally {
      this.connection.transport.close()
      this.report.durations.total = this.deps.clock.now() - this.startedAt
    }
    return this.report
  }

  /** Versions and maintenance mode inform, never block. */
  private async signIn(): Promise<void> {
    const { client } = this.connection
    await client.authenticate(this.signal)
    this.report.signedInWith = client.signedInWith
    this.host.info(`Signed in with ${client.signedInWith}.`)
    this.report.serverInfo = await lookAtServer(client, this.host, { clock: this.deps.clock, signal: this.signal })
  }

  private async placeOrResume(): Promise<string> {
    const { settings, host } = this
    let name: string
    if (settings.orderName) {
      name = settings.orderName
      host.info(`Resuming order ${name}; no new order is placed.`)
    } else {
      host.info(`Ordering: ${JSON.stringify(settings.exportContents)}`)
      const placed = await this.connection.client.placeOrder(settings.exportContents!, this.signal)
      if (typeof placed.name !== 'string' || !placed.name) throw new Error('the server accepted the order but returned no order name')
      name = placed.name
      host.info(`Order ${quoted(name)} placed.`)
      this.observe(placed)
    }
    this.orderName = name
    this.fileName = fileNameFor(name)
    if (this.fileName !== name) {
      host.info(`The order's name ${quoted(name)} cannot name a file as it is (${unsafeNameProblem(name)}): its files are named after ${this.fileName}.`)
    }
    this.report.orderName = untrusted(name)
    host.orderNamed(this.report.orderName)
    return name
  }

  private observe(op: Operation): void {
    this.current = op
    const state = op.metadata?.state && (untrusted(op.metadata.state, 100) as OrderState)
    if (state && state !== this.report.state) {
      this.report.state = state
      this.host.stateChanged(state)
    }
    this.host.progress?.({ stage: 'waiting', order: describeProgress(op) })
  }

  private async waitFor(name: string): Promise<void> {
    const { clock } = this.deps
    const waited = await waitForOrder({
      name,
      getOrder: n => this.connection.client.getOrder(n, this.signal),
      clock,
      startedAt: clock.now(),
      deadline: this.deadline,
      maxIntervalMs: this.settings.maxPollIntervalMs,
      logger: this.host,
      signal: this.signal,
      isTransient: isTransientError,
      initialState: this.current?.metadata?.state,
      onUpdate: op => this.observe(op)
    })
    this.report.polls = waited.polls
    Object.assign(this.report.durations, { queued: waited.queuedMs, running: waited.runningMs })
    if (!succeeded(waited.operation)) throw orderFailed(name, waited.operation)
  }

  /** The ZIP and its manifest, written under temporary names of the output set. */
  private async download(name: string, zipPlace: string): Promise<SavedZip & { attempts: number }> {
    const { settings, host } = this
    const zipFile = this.outputs.file(zipPlace)
    const manifest = this.outputs.file(evidenceFiles(zipPlace).manifestPath)
    const saved = await downloadZip(() => this.connection.client.download(name, this.signal), zipFile, {
      signal: this.signal,
      clock: this.deps.clock,
      deadline: this.deadline,
      logger: host,
      extract: settings.extract,
      manifest,
      keep: isUnequalJobResultsName,
      onBytes: host.progress && ((received, total) => host.progress!({ stage: 'downloading', received, total }))
    })
    Object.assign(this.report.durations, { download: saved.streamMs, check: saved.verifyMs })
    return saved
  }

  /** Extracted into a fresh folder of the output set: its place gets it whole, or not at all. */
  private async extract(saved: SavedZip): Promise<{ dir: string; place: string }> {
    const { clock } = this.deps
    const place = path.join(this.settings.path, this.fileName)
    const dir = this.outputs.folder(place)
    const started = clock.now()
    const room = (bytes: number) => ensureRoomToExtract(this.settings.path, bytes)
    const count = await extractZip(saved.path, dir, { signal: this.signal, room }).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e
      throw diskFilledWhileExtracting(place)
    })
    this.report.durations.extract = clock.now() - started
    this.host.info(`Extracted ${count} entries into ${place} in ${formatSeconds(this.report.durations.extract)}.`)
    return { dir, place }
  }

  /** The ZIP, the extraction and the evidence go to their places together, then the front end hears
   *  of them. */
  private async putInPlace(saved: SavedZip & { attempts: number }, zipPlace: string, extracted: { place: string } | undefined, evidence: Evidence): Promise<SavedZip> {
    const places = evidenceFiles(zipPlace)
    for (const f of EVIDENCE_FILES) if ('optional' in f && f.optional && !evidence[f.field]) await this.outputs.without(places[f.field])
    await this.outputs.commit()
    const kept = { ...saved, path: zipPlace }
    this.report.zip = { ...saved.report, path: zipPlace, size: saved.size, sha256: saved.sha256 }
    this.host.info(
      `Saved ${zipPlace}: ${formatBytes(saved.size)} (${saved.size} bytes), sha256 ${saved.sha256}, ${saved.report.entryCount} entries, CRCs verified.` +
        ` Received in ${formatSeconds(saved.streamMs)} (${formatRate(saved.size, saved.streamMs)}), checked in ${formatSeconds(saved.verifyMs)}` +
        `${saved.attempts > 1 ? `, ${saved.attempts} attempts` : ''}.`
    )
    this.host.zipSaved(kept)
    if (extracted) {
      this.report.extractPath = extracted.place
      this.host.extracted(extracted.place)
    }
    this.host.evidenceKept?.(evidence)
    return kept
  }

  /** The record, the change report and the job results, beside the ZIP (temporary names). */
  private async keepEvidence(saved: SavedZip, name: string, zipPlace: string): Promise<Evidence> {
    const { settings, deps, report } = this
    const meta = this.current?.metadata
    const places = { ...evidenceFiles(zipPlace), zip: zipPlace }
    const written = { ...places, manifestPath: saved.manifest!.path }
    for (const f of EVIDENCE_FILES) if (f.field !== 'manifestPath') written[f.field] = this.outputs.file(places[f.field])
    const fromServer = (v: string | undefined) => (v ? this.secrets.mask(untrusted(v)) : undefined)
    const evidence = await makeEvidence(saved, {
      files: written,
      places,
      facts: {
        tool: deps.provenance.tool,
        ranBy: deps.provenance.ranBy,
        serverUrl: settings.serverUrl,
        apiVersion: fromServer(report.serverInfo?.apiVersion),
        versiondogVersion: fromServer(report.serverInfo?.versiondogVersion),
        signedInWith: report.signedInWith,
        order: {
          name,
          resumed: report.resumed,
          exportContents: settings.exportContents ?? null,
          state: report.state,
          systemId: fromServer(meta?.systemId),
          licenseSerialNumber: fromServer(meta?.licenseSerialNumber),
          finishedSubProcesses: toCount(meta?.finishedSubProcesses),
          openSubProcesses: toCount(meta?.openSubProcesses)
        },
        startedAt: new Date(this.startedAt),
        finishedAt: new Date(deps.clock.now())
      },
      previous: await this.previousExport(),
      csvSeparator: settings.exportContents?.[UNEQUAL_JOB_RESULTS]?.csvSeparator as string | undefined,
      logger: this.host,
      signal: this.signal
    })
    report.evidence = evidence
    this.host.info(`Evidence: manifest (${saved.manifest!.files} files, sha256 ${saved.manifest!.sha256}) and record made.`)
    return evidence
  }

  /** The export to compare with: compare-with, or the one the front end finds (never decisive: a
   *  failed search is reported, and only a gate on changes fails on it). */
  private async previousExport(): Promise<{ file?: string; problem?: string } | undefined> {
    if (this.settings.compareWith) return { file: this.settings.compareWith }
    if (!this.deps.findPrevious) return undefined
    try {
      return { file: await abortable(this.deps.findPrevious(this.signal), this.signal) }
    } catch (e) {
      if (this.signal.aborted) throw e
      return { problem: `the previous export could not be fetched: ${(e as Error).message}` }
    }
  }

  /** fail-on, judged last: the evidence is saved and kept whatever the verdict. */
  private judge(evidence: Evidence): void {
    if (!this.settings.failOn.length) return
    this.report.gateFailure = judgeGate(this.settings.failOn, evidence)
  }

  /** The failure in words, with what to do next; cancels the order when giving up on it. */
  private async wayBack(e: unknown): Promise<string> {
    const { report, current, orderName } = this
    const name = report.orderName
    let next = ''
    // A hostile ZIP: fetching it again gives the same one, so there is no way back to offer.
    const hostileZip = e instanceof InvalidZipError && !e.retryable
    if (name && current && succeeded(current)) {
      if (!hostileZip) {
        report.orderOutcome = 'finished'
        next = `The export is finished on the server; re-run with ${setting('order-name', name)} to fetch it without exporting again.`
      }
    } else if (name && orderName && isGivingUp(e)) {
      const why = await this.cancelOrder(orderName)
      report.orderOutcome = why ? 'left-running' : 'cancelled'
      next = why
        ? `Order ${name} is left running on the server (${why}); re-run with ${setting('order-name', name)} to resume it.`
        : `Order ${name} was cancelled on the server; run again to export anew.`
    } else if (name && !(current && isDone(current)) && !(e instanceof UnknownOrderError)) {
      report.orderOutcome = 'left-running'
      next = `Order ${name} may still be running on the server; re-run with ${setting('order-name', name)} to resume it.`
    }
    const what = explain(e, this.deps.clock.now() - this.startedAt)
    return next ? `${/[.!?]$/.test(what) ? what : `${what}.`} ${next}` : what
  }

  /** Cancels the order (cancel-on-timeout) on the same transport, with a short time of its own: the
   *  run's signal has fired. Returns why it is left running, or undefined once cancelled. */
  private async cancelOrder(name: string): Promise<string | undefined> {
    if (!this.settings.cancelOnTimeout) return setting('cancel-on-timeout', 'false')
    const hurry = this.deps.hurry
    try {
      const limit = this.deps.clock.timeout(CANCEL_TIMEOUT_MS, new Error(`no answer within ${CANCEL_TIMEOUT_MS / 1000}s`))
      await this.connection.client.cancelOrder(name, hurry ? AbortSignal.any([limit, hurry]) : limit)
      this.host.info(`Cancelled order ${quoted(name)} on the server.`)
      return undefined
    } catch (e) {
      if (hurry?.aborted) return 'the cancel request was sent, but a second interrupt stopped the wait for its answer'
      return `cancelling it failed: ${(e as Error).message}`
    }
  }
}
