// The files one run leaves (the ZIP, the extracted folder, the manifest, the record, the change
// report) are written as a set: each is created exclusively under a temporary name beside its place
// (never opened through a link or over a file that stands there), and all are put in place together
// once every one is complete. A failed run removes its temporary files and leaves the previous set
// exactly as it was; a link or anything but a regular file (a folder, for the extraction) standing
// at a place is refused with words, never written through.
import { randomBytes } from 'node:crypto'
import { lstatSync, mkdtempSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'

/** A place of the set is taken by something we must not replace. */
export class OccupiedPlaceError extends Error {
  constructor(place: string, what: string) {
    super(`refusing to write ${place}: ${what} stands there. Remove it, or choose another folder`)
    this.name = 'OccupiedPlaceError'
  }
}

interface Member {
  temp: string
  place: string
  folder: boolean
  /** This run has nothing for the place: what an earlier run left there is removed with the set. */
  cleared?: boolean
}

/** The suffix of every temporary name: no later step takes such a file for an export. */
export const PARTIAL = '.partial'

export class OutputSet {
  private readonly members: Member[] = []

  /** A temporary path for a file that goes to `place` (not created: the writer creates it
   *  exclusively). Refuses a place that holds a link or anything but a regular file. */
  file(place: string): string {
    checkPlace(place, false)
    const temp = `${place}.${randomBytes(6).toString('hex')}${PARTIAL}`
    this.members.push({ temp, place, folder: false })
    return temp
  }

  /** A fresh empty folder (owner only) for a folder that goes to `place`. */
  folder(place: string): string {
    checkPlace(place, true)
    const temp = mkdtempSync(`${place}${PARTIAL}-`)
    this.members.push({ temp, place, folder: true })
    return temp
  }

  /** This run writes nothing to `place` after all (no change report): its temporary file goes, and
   *  an earlier run's file there goes with the commit, since it no longer belongs to the set. */
  async without(place: string): Promise<void> {
    for (const m of this.members.filter(m => m.place === place && !m.cleared)) {
      await rm(m.temp, { recursive: true, force: true })
      m.cleared = true
    }
  }

  /** Puts every member in its place, the record last (it vouches for the others). An earlier
   *  extraction in the way is replaced whole. */
  async commit(): Promise<void> {
    for (const m of this.members) checkPlace(m.place, m.folder)
    for (const m of this.members) {
      if (m.cleared) {
        await rm(m.place, { force: true })
      } else if (m.folder && exists(m.place)) {
        const old = `${m.place}${PARTIAL}-old-${randomBytes(6).toString('hex')}`
        await rename(m.place, old)
        await rename(m.temp, m.place)
        await rm(old, { recursive: true, force: true })
      } else {
        await rename(m.temp, m.place)
      }
    }
    this.members.length = 0
  }

  /** Removes every temporary file and folder; the places keep what they held. */
  async discard(): Promise<void> {
    await Promise.all(this.members.filter(m => !m.cleared).map(m => rm(m.temp, { recursive: true, force: true }).catch(() => undefined)))
    this.members.length = 0
  }
}

function exists(place: string): boolean {
  return lstatSync(place, { throwIfNoEntry: false }) !== undefined
}

/** A place may hold nothing, or what we would write there: a regular file, or (for a folder) a
 *  real folder. */
function checkPlace(place: string, folder: boolean): void {
  const s = lstatSync(place, { throwIfNoEntry: false })
  if (!s) return
  if (s.isSymbolicLink()) throw new OccupiedPlaceError(place, 'a symbolic link')
  if (folder ? !s.isDirectory() : !s.isFile()) throw new OccupiedPlaceError(place, folder ? 'something that is not a folder' : 'something that is not a regular file')
}
