// How the runner's platform names files, and the rules an entry name must pass before anything is
// written: it stays inside the target folder, the platform can hold it, and no two entries land on
// the same file.
import { quoted } from '../../base/untrusted.js'
import * as path from 'node:path'
import { InvalidZipError } from './format.js'
import { KeyMap } from './key-map.js'
import { textKey } from './name-key.js'

/** How the runner's platform names files: its path module, whether Windows' naming rules apply,
 *  whether two names that differ only in letter case are the same file (Windows, and macOS's
 *  default file system), and whether two that differ only in Unicode normalization are (macOS: é as
 *  one code point or as e and an accent). */
export interface PathRules {
  path: typeof path.posix
  windowsNames: boolean
  caseInsensitive: boolean
  normalizationInsensitive?: boolean
}

export function hostRules(platform: NodeJS.Platform = process.platform): PathRules {
  return {
    path: platform === 'win32' ? path.win32 : path.posix,
    windowsNames: platform === 'win32',
    caseInsensitive: platform === 'win32' || platform === 'darwin',
    normalizationInsensitive: platform === 'darwin'
  }
}

/** Longest name of one file or folder, in bytes (ext4, APFS, NTFS: 255). */
const SEGMENT_MAX_BYTES = 255

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
    throw new InvalidZipError(`refusing to extract ${quoted(name)}: its path leaves the target folder`, false)
  }
  for (const segment of segments) {
    if (segment.includes('\0')) throw new InvalidZipError(`refusing to extract ${quoted(name)}: its name holds a NUL character, which no file system allows`, false)
    if (Buffer.byteLength(segment) > SEGMENT_MAX_BYTES) {
      throw new InvalidZipError(`refusing to extract ${quoted(name)}: a part of its path is longer than ${SEGMENT_MAX_BYTES} bytes, more than a file system holds`, false)
    }
  }
  if (rules.windowsNames) {
    for (const segment of segments) {
      const problem = windowsNameProblem(segment)
      if (problem) throw new InvalidZipError(`refusing to extract ${quoted(name)}: it cannot be written on Windows as it is (${problem})`, false)
    }
  }
  const target = rules.path.resolve(root, ...segments)
  if (target !== root && !target.startsWith(root + rules.path.sep)) {
    throw new InvalidZipError(`refusing to extract ${quoted(name)}: its path leaves the target folder`, false)
  }
  return target
}

/** How two entries collide: the same name, names the file system takes for one, or a file that is
 *  also a folder of another entry. */
export type ClashKind = 'same' | 'prefix'

/** Two entries that would be one file: the same name twice, names a case- or normalization-
 *  insensitive file system takes for one, or a file whose name is a folder of another entry. The
 *  other entry is named once its name is read again. */
export class NameClash extends InvalidZipError {
  constructor(
    readonly entryName: string,
    readonly otherIndex: number,
    readonly kind: ClashKind = 'same'
  ) {
    super(`refusing to extract ${quoted(entryName)}: another entry would be written to the same file`, false)
  }

  withOther(other: string): InvalidZipError {
    if (this.kind === 'prefix') {
      const [file, folder] = this.entryName.endsWith('/') || other.length < this.entryName.length ? [other, this.entryName] : [this.entryName, other]
      return new InvalidZipError(`refusing to extract ${quoted(this.entryName)}: ${quoted(file)} is a file in the ZIP and also a folder of ${quoted(folder)}`, false)
    }
    if (other === this.entryName) return new InvalidZipError(`refusing to extract ${quoted(other)}: the ZIP holds it twice, and the second copy would overwrite the first`, false)
    const how = other.toLowerCase() === this.entryName.toLowerCase() ? 'letter case' : 'Unicode normalization (or letter case)'
    return new InvalidZipError(
      `refusing to extract ${quoted(this.entryName)}: it differs from ${quoted(other)} only in ${how}, and on this runner's file system one would overwrite the other`,
      false
    )
  }
}

/** Checks entry names one at a time (entryTarget), and that no two land on the same file and no file
 *  stands where another entry needs a folder. Keeps a 52-bit key of each path (name-key.ts), not
 *  the names, so memory stays small for hundreds of thousands of entries (two different paths share
 *  a key about once in 2^52 pairs). */
export class NameCheck {
  /** Files and explicit folders: key → index, negative for a folder. */
  private readonly seen = new KeyMap()
  /** Folders that entries need (their parents): key → the index of the first entry that needs it. */
  private readonly parents = new KeyMap()
  /** The last entry's folder: a ZIP lists a folder's entries together, and one already checked needs
   *  no second look. */
  private lastFolder = ''
  private index = 0

  constructor(
    private readonly root: string,
    private readonly rules: PathRules
  ) {}

  add(name: string): void {
    const target = entryTarget(this.root, name, this.rules)
    const i = this.index++
    const folder = name.endsWith('/')
    const hash = this.hashOf(target)
    // A folder listed twice is harmless; a file that another entry needs as a folder is not.
    const other = this.seen.get(hash)
    if (other !== undefined && !(other < 0 && folder)) throw new NameClash(name, other < 0 ? -other - 1 : other, other < 0 !== folder ? 'prefix' : 'same')
    if (!folder && this.parents.has(hash)) throw new NameClash(name, this.parents.get(hash)!, 'prefix')
    this.seen.set(hash, folder ? -i - 1 : i)
    const sep = this.rules.path.sep
    const cut = target.lastIndexOf(sep)
    if (cut <= this.root.length || target.slice(0, cut) === this.lastFolder) return
    this.lastFolder = target.slice(0, cut)
    for (let at = cut; at > this.root.length; at = target.lastIndexOf(sep, at - 1)) {
      const parent = this.hashOf(target.slice(0, at))
      if (this.parents.has(parent)) break
      const file = this.seen.get(parent)
      if (file !== undefined && file >= 0) throw new NameClash(name, file, 'prefix')
      this.parents.set(parent, i)
    }
  }

  private hashOf(target: string): number {
    let key = this.rules.normalizationInsensitive ? target.normalize('NFC') : target
    if (this.rules.caseInsensitive) key = key.toLowerCase()
    return textKey(key)
  }
}
