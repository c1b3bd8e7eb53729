// Checks an `exportContents` object against the kinds, option names and types of the server's spec.
// grpc-gateway silently ignores unknown keys, so a typo such as `projectTre` would otherwise place an
// order that exports nothing; a wrong enum value would only fail at the server.
import { EXPORT_KINDS, type OptionType } from '../../protocol/export-schema.js'
import type { ExportContents } from '../../protocol/protocol.js'

export type { ExportContents }


export const KNOWN_KINDS = Object.keys(EXPORT_KINDS)

const INT32_MIN = -(2 ** 31)
const INT32_MAX = 2 ** 31 - 1
// RFC 3339, as google.protobuf.Timestamp accepts it in JSON.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/

/** Returns the contents with protobuf field names (`project_tree`) turned into JSON names, or throws
 *  an Error listing every problem found. */
export function validateExportContents(value: unknown): ExportContents {
  const problems: string[] = []
  if (!isPlainObject(value)) {
    throw new Error(`must be a mapping of export kinds to options, e.g. {"projectTree": {}}; got ${describe(value)}`)
  }
  const result: ExportContents = {}
  for (const [rawKind, options] of Object.entries(value)) {
    const kind = toJsonName(rawKind)
    const schema = EXPORT_KINDS[kind]
    if (!schema) {
      problems.push(`unknown export kind "${rawKind}"${suggest(rawKind, KNOWN_KINDS)}`)
      continue
    }
    if (options === null || options === undefined) {
      result[kind] = {}
      continue
    }
    if (!isPlainObject(options)) {
      problems.push(`${kind}: options must be a mapping ({} for the server's defaults); got ${describe(options)}`)
      continue
    }
    result[kind] = checkFields(`${kind}`, options, schema, problems)
  }
  if (Object.keys(result).length === 0 && problems.length === 0) {
    problems.push(`names no export kind; name at least one of: ${KNOWN_KINDS.join(', ')}`)
  }
  if (problems.length > 0) throw new Error(problems.join('; '))
  return result
}

function checkFields(
  where: string,
  given: Record<string, unknown>,
  fields: Readonly<Record<string, OptionType>>,
  problems: string[]
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [rawName, v] of Object.entries(given)) {
    const name = toJsonName(rawName)
    const type = fields[name]
    const at = `${where}.${rawName}`
    if (!type) {
      const known = Object.keys(fields)
      problems.push(
        `unknown option "${at}"${suggest(rawName, known)}` +
          (known.length ? ` (options of ${where.split('.')[0]}: ${known.join(', ')})` : ` (${where} takes no options)`)
      )
      continue
    }
    if (v === null) continue // protobuf JSON: null means "not set"
    if (type.kind === 'message' && isPlainObject(v)) {
      out[name] = checkFields(at, v, type.fields, problems)
      continue
    }
    const problem = checkValue(at, v, type)
    if (problem) problems.push(problem)
    else out[name] = v
  }
  return out
}

function checkValue(at: string, v: unknown, type: OptionType): string | undefined {
  switch (type.kind) {
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `${at} must be true or false; got ${describe(v)}`
    case 'int32': {
      const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v
      return typeof n === 'number' && Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX
        ? undefined
        : `${at} must be a whole number; got ${describe(v)}`
    }
    case 'string':
      if (typeof v !== 'string') return `${at} must be a string; got ${describe(v)}`
      if (type.format === 'date-time' && !(RFC3339.test(v) && !Number.isNaN(Date.parse(v)))) {
        return `${at} must be an RFC 3339 time such as 2026-01-31T00:00:00Z; got "${v}"`
      }
      return undefined
    case 'enum':
      if (typeof v === 'string' && type.values.includes(v)) return undefined
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < type.values.length) return undefined
      return `${at} must be one of ${type.values.join(', ')}; got ${describe(v)}${typeof v === 'string' ? suggestEnum(v, type.values) : ''}`
    case 'message':
      return `${at} must be a mapping with ${Object.keys(type.fields).join(', ')}; got ${describe(v)}`
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** protojson accepts the proto field name (snake_case) as well as the JSON name (lowerCamelCase). */
function toJsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`
  if (typeof v === 'object') return 'a mapping'
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : typeof v
}

function suggest(given: string, known: readonly string[]): string {
  const prefixed = known.find(k => k.toLowerCase().startsWith(given.toLowerCase()) && given.length >= 4)
  if (prefixed) return ` (did you mean "${prefixed}"?)`
  let best: string | undefined
  let bestDistance = Infinity
  for (const k of known) {
    const d = editDistance(given.toLowerCase(), k.toLowerCase())
    if (d < bestDistance) [best, bestDistance] = [k, d]
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(given.length / 3)) ? ` (did you mean "${best}"?)` : ''
}

/** "CSV" → "EXPORT_TYPE_CSV": enum values carry their type's prefix, which users leave out. */
function suggestEnum(given: string, values: readonly string[]): string {
  const full = values.find(v => v.endsWith(`_${given.toUpperCase()}`))
  return full ? ` (did you mean "${full}"?)` : suggest(given, values)
}

/** Levenshtein distance; small strings only (option names). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]
}
