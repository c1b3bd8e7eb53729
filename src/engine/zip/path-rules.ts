// How the runner's platform names files, and the rules an entry name must pass before anything is
// written: it stays inside the target folder, the platform can hold it, and no two entries land on
// the same file.
import * as path from 'node:path'
import { crc32 } from 'node:zlib'
import { InvalidZipError } from './format.js'

/** How the runner's platform names files: its path module, whether Windows' naming rules apply, and
 *  whether two names that differ only in letter case are the same file (Windows, and macOS's
 *  default file system). */
export interface PathRules {
  path: typeof path.posix
  windowsNames: boolean
  caseInsensitive: boolean
}

export function hostRules(platform: NodeJS.Platform = process.platform): PathRules {
  return { path: platform === 'win32' ? path.win32 : path.posix, windowsNames: platform === 'win32', caseInsensitive: platform === 'win32' || platform === 'darwin' }
}

/** Why Windows cannot hold a file or folder of this name, or undefined when it can. */
export function windowsNameProblem(segment: string): string | undefined {
  if (/^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i.test(segment)) return `"${segment.split('.')[0]}" is a device name on Windows`
  if (/[. ]$/.test(segment)) return 'Windows drops a dot or space at the end of a name'
  if (/[<>:"|?*]/.test(segment) || [...segment].some(c => c.charCodeAt(0) < 32)) {
    return 'it holds a character Windows does not allow in names (< > : " | ? * or a control character)'
  }
}

/** Where an entry lands below `root`, or an InvalidZipError when it cannot be written there as it
 *  is: a path that leaves the folder (also through a drive letter or a backslash), a name the
 *  platform cannot hold. */
export function entryTarget(root: string, name: string, rules: PathRules): string {
  const segments = name.split(/[\\/]/).filter(s => s !== '')
  if (/^([a-zA-Z]:|[\\/])/.test(name) || segments.includes('..')) {
    throw new InvalidZipError(`refusing to extract "${name}": its path leaves the target folder`, false)
  }
  if (rules.windowsNames) {
    for (const segment of segments) {
      const problem = windowsNameProblem(segment)
      if (problem) throw new InvalidZipError(`refusing to extract "${name}": it cannot be written on Windows as it is (${problem})`, false)
    }
  }
  const target = rules.path.resolve(root, ...segments)
  if (target !== root && !target.startsWith(root + rules.path.sep)) {
    throw new InvalidZipError(`refusing to extract "${name}": its path leaves the target folder`, false)
  }
  return target
}

/** Two entries that would be one file: the same name twice, or (on a case-insensitive file system)
 *  names that differ only in letter case. The other entry is named once its name is read again. */
export class NameClash extends InvalidZipError {
  constructor(
    readonly entryName: string,
    readonly otherIndex: number
  ) {
    super(`refusing to extract "${entryName}": another entry would be written to the same file`, false)
  }

  withOther(other: string): InvalidZipError {
    if (other === this.entryName) return new InvalidZipError(`refusing to extract "${other}": the ZIP holds it twice, and the second copy would overwrite the first`, false)
    return new InvalidZipError(
      `refusing to extract "${this.entryName}": it differs from "${other}" only in letter case, and on this runner's file system one would overwrite the other`,
      false
    )
  }
}

/** Checks entry names one at a time (entryTarget), and that no two land on the same file: the same
 *  path twice, or on a case-insensitive file system two that differ only in letter case. Keeps a
 *  52-bit hash of each path, not the names, so memory stays small for hundreds of thousands of
 *  entries (two different paths share a hash about once in 2^52 pairs). */
export class NameCheck {
  private readonly seen = new Map<number, number>()
  private index = 0

  constructor(
    private readonly root: string,
    private readonly rules: PathRules
  ) {}

  add(name: string): void {
    const target = entryTarget(this.root, name, this.rules)
    const i = this.index++
    const key = Buffer.from(this.rules.caseInsensitive ? target.toLowerCase() : target)
    const hash = crc32(key) * 0x100000 + (crc32(key, 0x9e3779b9) & 0xfffff)
    // The value: the index, negative for a folder (a folder listed twice is harmless).
    const other = this.seen.get(hash)
    const folder = name.endsWith('/')
    if (other !== undefined && !(other < 0 && folder)) throw new NameClash(name, other < 0 ? -other - 1 : other)
    this.seen.set(hash, folder ? -i - 1 : i)
  }
}
