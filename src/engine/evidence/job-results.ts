// The unequalJobResults export, counted: the jobs "where differences were found or errors occurred"
// (the vendor's words). Neither the file's name inside the ZIP nor its columns or JSON shape are
// documented, so this accepts every plausible form and fails closed on anything else: a file it
// cannot find or read is an error, never "0 jobs".
//
// CSV is parsed with csv-parse (quoted fields may hold separators and line breaks): a header line,
// then one record per job. JSON is a top-level array of records, or an object holding exactly one
// array of records.
import { parse as parseCsv } from 'csv-parse/sync'

export const UNEQUAL_JOB_RESULTS = 'unequalJobResults'

const UNEQUAL_JOB_RESULTS_ANY_CASE = new RegExp(UNEQUAL_JOB_RESULTS, 'i')

/** The kind's file among the ZIP's entries: this name part, in any letter case. Asked of every
 *  entry, so it makes no string unless the name holds the part. */
export function isUnequalJobResultsName(name: string): boolean {
  return UNEQUAL_JOB_RESULTS_ANY_CASE.test(name) && UNEQUAL_JOB_RESULTS_ANY_CASE.test(baseName(name))
}

export interface JobResultsCount {
  file: string
  count: number
  /** The first records, each in a few words, for a message. */
  first: string[]
}

/** The file could not be found, read or understood: a gate on it fails closed. */
export class JobResultsUnreadable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'JobResultsUnreadable'
  }
}

const FIRST = 3

/** Which entry holds the unequalJobResults export: the one contents.json names where it names one,
 *  else the one whose file name says so. */
export function findUnequalJobResults(entryNames: string[], contentsJson: unknown): string {
  const candidates = entryNames.filter(isUnequalJobResultsName)
  const named = stringsIn(contentsJson).filter(s => candidates.some(c => c === s || baseName(c) === s))
  const byContents = candidates.filter(c => named.some(s => c === s || baseName(c) === s))
  const chosen = byContents.length ? byContents : candidates
  if (chosen.length === 1) return chosen[0]
  if (chosen.length === 0) {
    throw new JobResultsUnreadable(`the export holds no ${UNEQUAL_JOB_RESULTS} file (no entry named like it, and contents.json names none)`)
  }
  throw new JobResultsUnreadable(`the export holds ${chosen.length} files that could be the ${UNEQUAL_JOB_RESULTS} export (${chosen.join(', ')}), and contents.json does not say which`)
}

/** Counts the records of a CSV or JSON job results file. `separator`: the order's csvSeparator. */
export function countJobResults(file: string, bytes: Buffer | undefined, separator?: string): JobResultsCount {
  if (!bytes) throw new JobResultsUnreadable(`${file} is too large to count here`)
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '')
  const lower = file.toLowerCase()
  const looksJson = lower.endsWith('.json') || (!lower.endsWith('.csv') && /^\s*[[{]/.test(text))
  return looksJson ? countJson(file, text) : countCsv(file, text, separator)
}

function countCsv(file: string, text: string, separator: string | undefined): JobResultsCount {
  if (text.trim() === '') throw new JobResultsUnreadable(`${file} is empty: not even a header line`)
  const delimiter = separator || detectSeparator(text)
  let rows: string[][]
  try {
    rows = parseCsv(text, { delimiter, skip_empty_lines: true, relax_column_count: false })
  } catch (e) {
    throw new JobResultsUnreadable(`${file} is not CSV separated by "${delimiter}": ${(e as Error).message}`)
  }
  const [header, ...records] = rows
  if (!header) throw new JobResultsUnreadable(`${file} has no header line`)
  return { file, count: records.length, first: records.slice(0, FIRST).map(r => describe(r.filter(Boolean))) }
}

/** `;` or `,`, whichever the header line holds more of outside quotes (`;` on a tie: the vendor's
 *  tools come from a country that writes decimal commas). */
function detectSeparator(text: string): string {
  let semicolons = 0
  let commas = 0
  let quoted = false
  for (const ch of text) {
    if (ch === '"') quoted = !quoted
    else if (!quoted && (ch === '\n' || ch === '\r')) break
    else if (!quoted && ch === ';') semicolons++
    else if (!quoted && ch === ',') commas++
  }
  return commas > semicolons ? ',' : ';'
}

function countJson(file: string, text: string): JobResultsCount {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new JobResultsUnreadable(`${file} is not JSON: ${(e as Error).message}`)
  }
  const records = Array.isArray(value) ? value : theOneArray(value)
  if (!records) {
    throw new JobResultsUnreadable(`${file} is JSON of an unknown shape: neither an array of job results nor an object holding exactly one array`)
  }
  return { file, count: records.length, first: records.slice(0, FIRST).map(r => describe(r)) }
}

/** The single array inside an object (at any depth, not counting arrays inside it), or undefined
 *  when there is none or more than one. */
function theOneArray(value: unknown): unknown[] | undefined {
  const arrays: unknown[][] = []
  const visit = (v: unknown) => {
    if (Array.isArray(v)) arrays.push(v)
    else if (v && typeof v === 'object') Object.values(v).forEach(visit)
  }
  if (!value || typeof value !== 'object') return undefined
  Object.values(value).forEach(visit)
  return arrays.length === 1 ? arrays[0] : undefined
}

/** A record in a few words: its text values, joined. */
function describe(record: unknown): string {
  const values = Array.isArray(record) ? record : record && typeof record === 'object' ? Object.values(record) : [record]
  const text = values
    .filter(v => v !== null && v !== '' && typeof v !== 'object')
    .map(String)
    .join(' / ')
    .replace(/\s+/g, ' ')
  return text.length > 80 ? `${text.slice(0, 79)}…` : text
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(stringsIn)
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn)
  return []
}

function baseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1)
}
