// The evidence of a saved export, made after it is verified (and extracted): the record, the change
// report against a previous export when there is one, and the count of the unequalJobResults
// export when the ZIP holds one. The manifest was made while the ZIP was checked. What cannot be
// made is said, never guessed: the gate fails closed on it.
import type { Logger } from '../../base/logger.js'
import type { KeptEntry } from '../zip/check.js'
import { type ChangeReport, compareWithPrevious } from './changes.js'
import type { EvidenceFiles } from './files.js'
import type { GateFindings } from './gate.js'
import { countJobResults, findUnequalJobResults } from './job-results.js'
import { type Manifest, manifestEntries } from './manifest.js'
import { type RecordFacts, writeRecord } from './record.js'

/** The verified ZIP as the evidence needs it (the download's SavedZip). */
export interface VerifiedZip {
  path: string
  size: number
  sha256: string
  report: { entryCount: number; contentsJson?: unknown; kept?: KeptEntry[] }
  manifest?: Manifest
}

export { evidenceFiles, type EvidenceFiles } from './files.js'

/** What the evidence found, and where each of its files stands (EVIDENCE_FILES' fields). */
export interface Evidence extends GateFindings {
  manifestPath: string
  recordPath: string
  changesPath?: string
}

export interface EvidenceOptions {
  /** Where each piece is written now: the temporary names of the run's output set. */
  files: EvidenceFiles
  /** Where each piece, and the ZIP, will stand once the set is put in place: what the record names
   *  and the evidence reports. */
  places: EvidenceFiles & { zip: string }
  /** The record's facts but the ZIP and manifest, which come from the saved ZIP. */
  facts: Omit<RecordFacts, 'zip' | 'manifest'>
  /** The previous export to compare with, when one was asked for: its ZIP or record, none found
   *  (said so, and the run carries on), or why it could not be looked for. */
  previous?: { file?: string; problem?: string }
  /** The order's csvSeparator for unequalJobResults, when it set one. */
  csvSeparator?: string
  logger: Logger
  /** The run's deadline and cancellation: the comparison and the record stop at once. */
  signal?: AbortSignal
}

export async function makeEvidence(saved: VerifiedZip, o: EvidenceOptions): Promise<Evidence> {
  const manifest = saved.manifest!
  // The comparison first: it reads the previous export before anything of this run is in place.
  const changes = await changesSince(o, manifest)
  const zip = { path: o.places.zip, size: saved.size, sha256: saved.sha256, entries: saved.report.entryCount }
  await writeRecord(o.files.recordPath, { ...o.facts, zip, manifest: { ...manifest, path: o.places.manifestPath } }, manifestEntries(manifest), o.signal)
  return { manifestPath: o.places.manifestPath, recordPath: o.places.recordPath, changesPath: changes.changes?.path, ...changes, ...jobResults(saved, o) }
}

async function changesSince(o: EvidenceOptions, manifest: Manifest): Promise<Pick<GateFindings, 'changes' | 'changesProblem' | 'noPrevious'>> {
  const previous = o.previous
  if (!previous) return {}
  if (previous.problem) {
    o.logger.warning(`no change report: ${previous.problem}`)
    return { changesProblem: previous.problem }
  }
  if (!previous.file) {
    o.logger.info('No previous export to compare with: this export is the baseline.')
    return { noPrevious: true }
  }
  let changes: ChangeReport
  o.logger.info(`Comparing with ${previous.file} …`)
  try {
    changes = { ...(await compareWithPrevious(previous.file, manifestEntries(manifest), o.files.changesPath, o.signal)), path: o.places.changesPath }
  } catch (e) {
    if (o.signal?.aborted) throw e
    o.logger.warning(`no change report: ${(e as Error).message}`)
    return { changesProblem: (e as Error).message }
  }
  const { added, removed, changed, unchanged } = changes.counts
  o.logger.info(`Since ${previous.file}: ${added} added, ${removed} removed, ${changed} changed, ${unchanged} unchanged (by ${changes.comparedBy}); ${changes.path}.`)
  return { changes }
}

function jobResults(saved: VerifiedZip, o: EvidenceOptions): Pick<GateFindings, 'jobResults' | 'jobResultsProblem'> {
  const kept = saved.report.kept ?? []
  try {
    const file = findUnequalJobResults(kept.map(k => k.name), saved.report.contentsJson)
    const count = countJobResults(file, kept.find(k => k.name === file)?.bytes, o.csvSeparator)
    o.logger.info(`unequalJobResults (${count.file}): ${count.count} job(s) with differences or errors.`)
    return { jobResults: count }
  } catch (e) {
    return { jobResultsProblem: (e as Error).message }
  }
}
