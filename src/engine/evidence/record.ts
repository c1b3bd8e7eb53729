// The export record: one JSON document that says what was exported, from where, by whom and when,
// and what the ZIP and its manifest hash to, with every file entry's size, CRC-32 and SHA-256. Its
// shape is schemas/export-record.schema.json (versioned by its $schema). It holds no secret: the
// server URL has no credentials (inputs refuse them, and they are stripped again here), and nothing
// of the sign-in is written but the way it worked.
import * as path from 'node:path'
import { LineFile } from './line-file.js'
import type { FileDigest } from './manifest.js'

export const RECORD_SCHEMA_ID = 'urn:octoplant-export:schema:export-record:1'

/** The CI run (or machine) that made the export: names and ids only, never a token. */
export type RunOrigin = Record<string, string | number>

export interface RecordFacts {
  tool: { name: string; version: string }
  serverUrl: string
  apiVersion?: string
  versiondogVersion?: string
  signedInWith?: string
  order: {
    name: string
    resumed: boolean
    /** What was asked for; null when an existing order was fetched by name. */
    exportContents: unknown
    state?: string
    systemId?: string
    licenseSerialNumber?: string
    finishedSubProcesses?: number
    openSubProcesses?: number
  }
  startedAt: Date
  finishedAt: Date
  zip: { path: string; size: number; sha256: string; entries: number }
  manifest: { path: string; sha256: string; files: number }
  ranBy: RunOrigin
}

/** Writes the record to `file`, its entries streamed from the manifest. */
export async function writeRecord(file: string, facts: RecordFacts, entries: AsyncIterable<FileDigest>, signal?: AbortSignal): Promise<void> {
  const head = {
    $schema: RECORD_SCHEMA_ID,
    tool: facts.tool,
    server: {
      url: withoutCredentials(facts.serverUrl),
      ...(facts.apiVersion ? { apiVersion: facts.apiVersion } : {}),
      ...(facts.versiondogVersion ? { versiondogVersion: facts.versiondogVersion } : {}),
      ...(facts.signedInWith ? { signedInWith: facts.signedInWith } : {})
    },
    order: dropUndefined(facts.order),
    startedAt: facts.startedAt.toISOString(),
    finishedAt: facts.finishedAt.toISOString(),
    zip: { file: path.basename(facts.zip.path), size: facts.zip.size, sha256: facts.zip.sha256, entries: facts.zip.entries },
    manifest: { file: path.basename(facts.manifest.path), sha256: facts.manifest.sha256, files: facts.manifest.files },
    ranBy: facts.ranBy
  }
  const out = new LineFile(file)
  try {
    // The head as JSON.stringify writes it, then the entries, one a line.
    out.write(`${JSON.stringify(head, null, 2).replace(/\n\}$/, '')},\n  "entries": [`)
    let separator = '\n    '
    for await (const entry of entries) {
      signal?.throwIfAborted()
      out.write(`${separator}${JSON.stringify(entry)}`)
      separator = ',\n    '
    }
    out.write(`${separator === '\n    ' ? '' : '\n  '}]\n}\n`)
    out.close()
  } catch (e) {
    out.abandon()
    throw e
  }
}

export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.href.replace(/\/+$/, '')
  } catch {
    return url
  }
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}
