// The outputs, by the names action.yml gives them (a test holds the two equal). The command line
// prints the export's part of them as its JSON document, under the same keys.
import { EVIDENCE_FILES } from '../engine/evidence/files.js'
import type { Evidence } from '../engine/evidence/make.js'
import type { ExportReport } from '../engine/export.js'

export const OUTPUTS = {
  orderName: 'order-name',
  state: 'state',
  zipPath: 'zip-path',
  zipSize: 'zip-size',
  zipSha256: 'zip-sha256',
  extractPath: 'extract-path',
  artifactName: 'artifact-name',
  artifactId: 'artifact-id',
  artifactUrl: 'artifact-url',
  artifactDigest: 'artifact-digest',
  ...evidenceOutputNames(),
  entriesAdded: 'entries-added',
  entriesRemoved: 'entries-removed',
  entriesChanged: 'entries-changed',
  unequalJobResults: 'unequal-job-results',
  errorMessage: 'error-message'
} as const

/** { recordPath: 'record-path', … }: the evidence files' outputs, from their list. */
function evidenceOutputNames() {
  return Object.fromEntries(EVIDENCE_FILES.map(f => [f.field, f.output])) as { [F in (typeof EVIDENCE_FILES)[number] as F['field']]: F['output'] }
}

/** The outputs an export has, whatever the front end: set ones only. */
export function exportOutputs(report: ExportReport): Record<string, string> {
  const values: [string, string | number | undefined][] = [
    [OUTPUTS.orderName, report.orderName],
    [OUTPUTS.state, report.state],
    [OUTPUTS.zipPath, report.zip?.path],
    [OUTPUTS.zipSize, report.zip?.size],
    [OUTPUTS.zipSha256, report.zip?.sha256],
    [OUTPUTS.extractPath, report.extractPath],
    ...evidenceOutputs(report.evidence),
    [OUTPUTS.errorMessage, report.error ?? report.gateFailure]
  ]
  return Object.fromEntries(values.filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]))
}

/** The evidence's outputs: where it is, the change counts, and the unequalJobResults count (absent
 *  when that export was not there to count). */
export function evidenceOutputs(e: Evidence | undefined): [string, string | number | undefined][] {
  if (!e) return []
  return [
    ...EVIDENCE_FILES.map(f => [f.output, e[f.field]] as [string, string | undefined]),
    [OUTPUTS.entriesAdded, e.changes?.counts.added],
    [OUTPUTS.entriesRemoved, e.changes?.counts.removed],
    [OUTPUTS.entriesChanged, e.changes?.counts.changed],
    [OUTPUTS.unequalJobResults, e.jobResults?.count]
  ]
}
