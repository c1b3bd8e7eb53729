// The job summary as Markdown: a pure function of what the run found out.
import type { UploadResult } from './artifact.js'
import { formatDuration } from './poller.js'
import { describeMaintenance, describeVersions, type ServerInfo } from './preflight.js'
import type { ZipEntryInfo } from './zip.js'

export interface RunReport {
  server: string
  /** What the optional status calls told of the server. */
  serverInfo?: ServerInfo
  orderName?: string
  resumed: boolean
  state?: string
  error?: string
  durations: { queued?: number; running?: number; download?: number; upload?: number; total: number }
  polls?: number
  zip?: { path: string; size: number; sha256: string; entries: ZipEntryInfo[]; contentsJson?: unknown }
  extractPath?: string
  artifact?: UploadResult
  artifactSkipped?: string
}

const MAX_ENTRY_ROWS = 100
const MAX_CONTENTS_CHARS = 20_000

export function renderSummary(r: RunReport): string {
  const ok = !r.error
  const lines: string[] = [`## ${ok ? '✅' : '❌'} octoplant export ${ok ? 'succeeded' : 'failed'}`, '']
  if (r.error) lines.push(`> ${cell(r.error)}`, '')
  const rows: [string, string][] = [
    ['Server', code(r.server)],
    ...(r.serverInfo && describeVersions(r.serverInfo) ? [['Server version', cell(describeVersions(r.serverInfo))] as [string, string]] : []),
    ...(r.serverInfo?.maintenance ? [['Maintenance mode', `⚠️ on: ${cell(describeMaintenance(r.serverInfo.maintenance))}`] as [string, string]] : []),
    ['Order', r.orderName ? `${code(r.orderName)}${r.resumed ? ' (resumed)' : ''}` : '—'],
    ['Final state', r.state ? code(r.state) : '—']
  ]
  const d = r.durations
  if (d.queued !== undefined) rows.push(['Queued', formatDuration(d.queued)])
  if (d.running !== undefined) rows.push(['Running', formatDuration(d.running)])
  if (r.polls !== undefined) rows.push(['Polls', String(r.polls)])
  if (d.download !== undefined) rows.push(['Download', formatDuration(d.download)])
  if (d.upload !== undefined) rows.push(['Upload', formatDuration(d.upload)])
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
  } else if (r.artifactSkipped) {
    rows.push(['Artifact', `not uploaded: ${cell(r.artifactSkipped)}`])
  }
  lines.push('| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`), '')

  if (r.zip) {
    const files = r.zip.entries
    lines.push(`### ZIP entries (${files.length})`, '', '| Entry | Size | Compressed |', '|---|---:|---:|')
    for (const e of files.slice(0, MAX_ENTRY_ROWS)) {
      lines.push(`| ${code(e.name)} | ${formatBytes(e.size)} | ${formatBytes(e.compressedSize)} |`)
    }
    if (files.length > MAX_ENTRY_ROWS) lines.push(`| … ${files.length - MAX_ENTRY_ROWS} more | | |`)
    lines.push('')
    if (r.zip.contentsJson !== undefined) {
      let text = typeof r.zip.contentsJson === 'string' ? r.zip.contentsJson : JSON.stringify(r.zip.contentsJson, null, 2)
      if (text.length > MAX_CONTENTS_CHARS) text = `${text.slice(0, MAX_CONTENTS_CHARS)}\n… (${text.length - MAX_CONTENTS_CHARS} more characters)`
      lines.push('<details><summary><code>contents.json</code></summary>', '', '```json', text.replace(/```/g, '`​``'), '```', '', '</details>', '')
    }
  }
  return lines.join('\n')
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`
}

/** Text safe inside a table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

function code(text: string): string {
  return `\`${cell(text).replace(/`/g, "'")}\``
}
