// Names from outside (an order's name from the server) become file names only through here: a name
// that is one safe path segment on Linux, Windows and macOS is used as it is; any other gets a safe
// form that stays unique (its safe characters and a short hash of the whole name).
import { createHash } from 'node:crypto'

/** Longest file-system name made from an order name. */
export const SAFE_NAME_MAX = 100

const SAFE_CHARS = /^[A-Za-z0-9_@~.-]+$/
const DEVICE_NAMES = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i

/** Why `name` is not one safe path segment everywhere, or undefined when it is. */
export function unsafeNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty'
  if (name.length > SAFE_NAME_MAX) return `it is longer than ${SAFE_NAME_MAX} characters`
  if (name === '.' || name === '..' || name.startsWith('.')) return 'it starts with a dot'
  if (!SAFE_CHARS.test(name)) return 'it holds a character other than letters, digits and - _ . @ ~ (a separator, a colon, a space or a control character)'
  if (DEVICE_NAMES.test(name)) return `"${name.split('.')[0]}" is a device name on Windows`
  if (name.endsWith('.')) return 'Windows drops a dot at the end of a name'
  return undefined
}

/** The file-system name for an order name: itself when safe, else its safe characters and a hash. */
export function fileNameFor(name: string): string {
  if (!unsafeNameProblem(name)) return name
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12)
  const kept = name.replace(/[^A-Za-z0-9_@~.-]+/g, '-').replace(/^[.-]+|[.-]+$/g, '').slice(0, SAFE_NAME_MAX - 13)
  return kept ? `${kept}-${hash}` : `order-${hash}`
}
