// The evidence files beside the ZIP, in one list: what each is called, which output names it,
// whether it is kept as an artifact, and its row in the summary. The engine, the outputs, the
// uploads, the summary and the command's help all read this list; a new evidence file is an entry
// here and the code in make.ts that writes it (and its output's description in action.yml, which
// the docs test holds to this list).

export interface EvidenceFileKind {
  /** `<artifact-name><suffix>` beside `<artifact-name>.zip`. */
  suffix: string
  /** Where Evidence holds its path (absent when this run made none). */
  field: 'recordPath' | 'manifestPath' | 'changesPath'
  output: string
  /** Kept as an artifact of its own file name. */
  uploaded: boolean
  /** Its row in the job summary, and what the row adds after the path. */
  label: string
  note?: string
  /** Made only with a comparison: a run without one removes an older run's file from the set. */
  optional?: boolean
}

export const EVIDENCE_FILES = [
  { suffix: '.record.json', field: 'recordPath', output: 'record-path', uploaded: true, label: 'Record' },
  { suffix: '.manifest.sha256', field: 'manifestPath', output: 'manifest-path', uploaded: true, label: 'Manifest', note: 'SHA-256 of every file; check with `sha256sum -c`' },
  { suffix: '.changes.json', field: 'changesPath', output: 'changes-path', uploaded: true, label: 'Change report', optional: true }
] as const satisfies readonly EvidenceFileKind[]

export type EvidenceFileField = (typeof EVIDENCE_FILES)[number]['field']

/** Each evidence file's path beside a ZIP: `<dir>/<base>.zip` → `<dir>/<base>.record.json`, … */
export type EvidenceFiles = Record<EvidenceFileField, string>

export function evidenceFiles(zipPath: string): EvidenceFiles {
  const base = zipPath.replace(/\.zip$/, '')
  return Object.fromEntries(EVIDENCE_FILES.map(f => [f.field, `${base}${f.suffix}`])) as EvidenceFiles
}
