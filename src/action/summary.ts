// The job summary as Markdown: a pure function of what the run found out.
import type { UploadResult } from './artifact.js'
import { formatBytes, formatDuration, formatRate } from '../base/format.js'
import { commandFree, untrusted } from '../base/untrusted.js'
import { type Change, type ChangeKind, type ChangeReport, LISTED_CHANGES } from '../engine/evidence/changes.js'
import { EVIDENCE_FILES } from '../engine/evidence/files.js'
import { describePrevious } from '../engine/evidence/gate.js'
import type { ExportReport } from '../engine/export.js'
import { describeMaintenance, describeVersions } from '../engine/preflight.js'

/** The export's report and what the Action added: the artifact. */
export interface ActionReport extends ExportReport {
  artifact?: UploadResult
  /** The record, manifest and change report, each an artifact. */
  evidenceArtifacts?: UploadResult[]
  artifactSkipped?: string
  /** The artifact service used, when not github.com's (GitHub Enterprise Server's legacy one). */
  artifactService?: string
  uploadMs?: number
}

const MAX_ENTRY_ROWS = 100
const MAX_CONTENTS_CHARS = 20_000

export function renderSummary(r: ActionReport): string {
  const ok = !r.error && !r.gateFailure
  const title = r.error ? '❌ octoplant export failed' : r.gateFailure ? '❌ octoplant export kept, and fail-on failed it' : '✅ octoplant export succeeded'
  const lines: string[] = [`## ${title}`, '']
  if (!ok) lines.push(`> ${cell((r.error ?? r.gateFailure)!)}`, '')
  const rows: [string, string][] = [['Server', code(r.server)]]
  if (r.serverInfo && describeVersions(r.serverInfo)) rows.push(['Server version', cell(describeVersions(r.serverInfo))])
  if (r.signedInWith) rows.push(['Signed in with', cell(r.signedInWith)])
  if (r.serverInfo?.maintenance) rows.push(['Maintenance mode', `⚠️ on: ${cell(describeMaintenance(r.serverInfo.maintenance))}`])
  rows.push(['Order', r.orderName ? `${code(r.orderName)}${r.resumed ? ' (resumed)' : ''}${orderFate(r)}` : '—'])
  rows.push(['Final state', r.state ? code(r.state) : '—'])
  const d = r.durations
  if (d.queued !== undefined) rows.push(['Queued', formatDuration(d.queued)])
  if (d.running !== undefined) rows.push(['Running', formatDuration(d.running)])
  if (r.polls !== undefined) rows.push(['Polls', String(r.polls)])
  if (d.download !== undefined) rows.push(['Download', `${formatDuration(d.download)}${r.zip ? ` (${formatRate(r.zip.size, d.download)})` : ''}`])
  if (d.check !== undefined) rows.push(['ZIP check', formatDuration(d.check)])
  if (r.uploadMs !== undefined) rows.push(['Upload', formatDuration(r.uploadMs)])
  rows.push(['Total', formatDuration(d.total)])
  if (r.zip) {
    rows.push(['ZIP', `${code(r.zip.path)}, ${formatBytes(r.zip.size)} (${r.zip.size} bytes)`])
    rows.push(['SHA-256', code(r.zip.sha256)])
  }
  if (r.extractPath) rows.push(['Extracted to', code(r.extractPath)])
  if (r.artifact) {
    const name = code(r.artifact.name)
    rows.push(['Artifact', r.artifact.url ? `[${r.artifact.name}](${r.artifact.url})` : name])
    if (r.artifact.digest) rows.push(['Artifact digest', code(r.artifact.digest)])
    if (r.artifactService) rows.push(['Artifact service', r.artifactService])
  } else if (r.artifactSkipped) {
    rows.push(['Artifact', `not uploaded: ${cell(r.artifactSkipped)}`])
  }
  rows.push(...evidenceRows(r))
  lines.push('| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`), '')
  if (r.evidence?.changes) lines.push(...changeSection(r.evidence.changes))

  if (r.zip) {
    const { entries, entryCount, totalSize, folders } = r.zip
    lines.push(`<details><summary>ZIP entries: ${entryCount}, ${formatBytes(totalSize)} uncompressed</summary>`, '')
    lines.push('| Folder | Entries | Size |', '|---|---:|---:|')
    for (const { folder, count, bytes } of folders) lines.push(`| ${code(folder)} | ${count} | ${formatBytes(bytes)} |`)
    lines.push('', '| Entry | Size | Compressed |', '|---|---:|---:|')
    for (const e of entries.slice(0, MAX_ENTRY_ROWS)) {
      lines.push(`| ${code(e.name)} | ${formatBytes(e.size)} | ${formatBytes(e.compressedSize)} |`)
    }
    if (entryCount > MAX_ENTRY_ROWS) lines.push(`| … ${entryCount - MAX_ENTRY_ROWS} more | | |`)
    lines.push('', '</details>', '')
    if (r.zip.contentsJson !== undefined) {
      let text = typeof r.zip.contentsJson === 'string' ? r.zip.contentsJson : JSON.stringify(r.zip.contentsJson, null, 2)
      if (text.length > MAX_CONTENTS_CHARS) text = `${text.slice(0, MAX_CONTENTS_CHARS)}\n… (${text.length - MAX_CONTENTS_CHARS} more characters)`
      lines.push('<details><summary><code>contents.json</code></summary>', '', '```json', commandFree(text).replace(/```/g, '`\u200b``'), '```', '', '</details>', '')
    }
  }
  return lines.join('\n')
}

/** The manifest, the record, the job results counted and the change counts. */
function evidenceRows(r: ActionReport): [string, string][] {
  const e = r.evidence
  if (!e) return []
  const rows: [string, string][] = []
  for (const f of EVIDENCE_FILES) {
    const file = e[f.field]
    if (file) rows.push([f.label, `${code(file)}${'note' in f ? ` (${f.note})` : ''}`])
  }
  if (r.evidenceArtifacts?.length) rows.push(['Evidence artifacts', r.evidenceArtifacts.map(a => (a.url ? `[${a.name}](${a.url})` : code(a.name))).join(', ')])
  if (e.jobResults) rows.push(['Unequal job results', `${e.jobResults.count} (${code(e.jobResults.file)})`])
  if (e.changes) {
    const c = e.changes.counts
    rows.push(['Changes', `${c.added} added, ${c.removed} removed, ${c.changed} changed, ${c.unchanged} unchanged since ${cell(describePrevious(e.changes))}`])
  } else if (e.noPrevious) {
    rows.push(['Changes', 'no previous export to compare with: this one is the baseline'])
  } else if (e.changesProblem) {
    rows.push(['Changes', `⚠️ not reported: ${cell(e.changesProblem)}`])
  }
  return rows
}

/** The changes by folder (the device's folder: an entry's own), then the first of each kind. */
function changeSection(c: ChangeReport): string[] {
  const kinds: ChangeKind[] = ['added', 'removed', 'changed']
  if (kinds.every(k => c.counts[k] === 0)) return []
  const folders = new Map<string, Record<ChangeKind, number>>()
  for (const k of kinds) {
    for (const change of c.first[k]) {
      const slash = change.path.lastIndexOf('/')
      const folder = slash > 0 ? change.path.slice(0, slash + 1) : '(top level)'
      const row = folders.get(folder) ?? folders.set(folder, { added: 0, removed: 0, changed: 0 }).get(folder)!
      row[k]++
    }
  }
  const cut = kinds.some(k => c.counts[k] > c.first[k].length)
  const lines = [`### Changes since ${cell(describePrevious(c))} (by ${c.comparedBy})`, '']
  if (cut) lines.push(`By folder, the changes listed below (the first ${LISTED_CHANGES} of each kind); ${code(c.path)} has them all.`, '')
  lines.push('| Folder | Added | Removed | Changed |', '|---|---:|---:|---:|')
  for (const [folder, n] of [...folders].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) lines.push(`| ${code(folder)} | ${n.added} | ${n.removed} | ${n.changed} |`)
  lines.push('')
  for (const k of kinds) {
    if (!c.counts[k]) continue
    const shown = c.first[k]
    lines.push(`<details><summary>${k[0].toUpperCase()}${k.slice(1)}: ${c.counts[k]}${c.counts[k] > shown.length ? ` (the first ${shown.length})` : ''}</summary>`, '')
    lines.push('| Entry | Before | After |', '|---|---|---|')
    for (const change of shown) lines.push(`| ${code(change.path)} | ${side(change.old)} | ${side(change.new)} |`)
    lines.push('', '</details>', '')
  }
  lines.push(`All changes: ${code(c.path)}`, '')
  return lines
}

function side(s: Change['old']): string {
  if (!s) return '—'
  return `${formatBytes(s.size)}, ${s.sha256 ? `sha256 ${code(s.sha256.slice(0, 12))}…` : `crc32 ${code(s.crc32)}`}`
}

/** What became of the order, after its name: " — cancelled on the server", … */
function orderFate(r: ActionReport): string {
  const resume = r.orderName ? code(`order-name: ${r.orderName}`) : ''
  switch (r.orderOutcome) {
    case 'finished':
      return ` — finished on the server; fetch it again with ${resume}`
    case 'cancelled':
      return ' — cancelled on the server'
    case 'left-running':
      return ` — left running on the server; resume with ${resume}`
  }
  if (r.state === 'STATE_FAILED') return ' — failed on the server (its message is above)'
  if (r.state === 'STATE_SUCCEEDED' && !r.error) return ' — succeeded'
  return ''
}

/** Text safe inside a table cell: one line, printable (entry names and messages quote the server). */
function cell(text: string): string {
  return untrusted(text, 4000).replace(/\|/g, '\\|')
}

function code(text: string): string {
  return `\`${cell(text).replace(/`/g, "'")}\``
}
