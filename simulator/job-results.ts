// The simulator's jobResults and unequalJobResults exports, in the vendor's terms (AdminClient → Jobs
// → Job results): each job compares "server version ↔ backup" and "previous backup ↔ backup", with the
// status codes 0 not available (with warning), 1 error, 2 different, 3 equal, 4 not compared,
// 10 deactivated, and empty for not yet run. unequalJobResults holds only the jobs "where differences
// were found or errors occurred" (a 1 or a 2 in either comparison).
//
// OUR ASSUMPTION, not the vendor's documentation (the README's "not known" list says so): the file
// names (jobResults.csv / .json), the CSV columns and the JSON shape below. The action's gate does not
// rely on them: it accepts any CSV with a header line and any JSON array of records.

export type JobStatus = 0 | 1 | 2 | 3 | 4 | 10 | ''

export interface SimulatedJob {
  job: string
  component: string
  /** When it last ran (ISO 8601); empty when it has not run yet. */
  executed: string
  serverVsBackup: JobStatus
  previousVsBackup: JobStatus
  message: string
}

export const DEFAULT_JOBS: SimulatedJob[] = [
  { job: 'Nightly upload Line 1 PLC', component: '\\Plant\\Line 1\\PLC S7-1500', executed: '2026-12-01T01:00:00Z', serverVsBackup: 3, previousVsBackup: 3, message: '' },
  {
    job: 'Nightly upload Line 1 HMI',
    component: '\\Plant\\Line 1\\HMI TP1200',
    executed: '2026-12-01T01:05:00Z',
    serverVsBackup: 2,
    previousVsBackup: 3,
    // A separator and a line break inside a quoted field, as a free-text message may hold.
    message: 'Screen "Overview; Alarms" differs\nfrom the server version'
  },
  { job: 'Nightly upload Line 2 drive', component: '\\Plant\\Line 2\\Antrieb Süd G120', executed: '2026-12-01T01:10:00Z', serverVsBackup: 1, previousVsBackup: 1, message: 'Device not reachable' },
  { job: 'Weekly upload Line 3', component: '\\Plant\\Line 3\\PLC S7-1200', executed: '2026-11-28T02:00:00Z', serverVsBackup: 4, previousVsBackup: 0, message: 'No previous backup yet' },
  { job: 'Old line upload', component: '\\Plant\\Old line\\PLC S5', executed: '', serverVsBackup: 10, previousVsBackup: 10, message: '' },
  { job: 'New job', component: '\\Plant\\Line 3\\HMI KTP700', executed: '', serverVsBackup: '', previousVsBackup: '', message: '' }
]

export function isUnequal(j: SimulatedJob): boolean {
  return [j.serverVsBackup, j.previousVsBackup].some(s => s === 1 || s === 2)
}

const COLUMNS = ['Job', 'Component', 'Executed', 'Server version vs. backup', 'Previous backup vs. backup', 'Message']

export function jobResultsCsv(jobs: SimulatedJob[], separator = ';'): string {
  const field = (v: string | number) => {
    const text = String(v)
    return /["\r\n]/.test(text) || text.includes(separator) ? `"${text.replace(/"/g, '""')}"` : text
  }
  const rows = jobs.map(j => [j.job, j.component, j.executed, j.serverVsBackup, j.previousVsBackup, j.message].map(field).join(separator))
  return `${[COLUMNS.join(separator), ...rows].join('\r\n')}\r\n`
}

export function jobResultsJson(jobs: SimulatedJob[]): string {
  const results = jobs.map(j => ({
    job: j.job,
    component: j.component,
    executed: j.executed || null,
    serverVersionVsBackup: j.serverVsBackup === '' ? null : j.serverVsBackup,
    previousBackupVsBackup: j.previousVsBackup === '' ? null : j.previousVsBackup,
    message: j.message
  }))
  return JSON.stringify({ jobResults: results }, null, 2)
}
