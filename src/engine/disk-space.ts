// The disk-space policy: the output folder is proven writable before anything is ordered, an export
// whose size is announced must fit (twice when it will be extracted beside itself), and a disk that
// fills up while saving or extracting gets a message that says where and what to do.
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { formatBytes } from '../base/format.js'
import { InputError } from './settings.js'
import { setting } from '../base/setting-ref.js'

/** The file system has no room for the export (checked up front, or found full while writing). */
export class DiskSpaceError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DiskSpaceError'
  }
}

/** Creates the folder the export goes to and proves it writable, before anything is ordered. */
export async function prepareFolder(dir: string): Promise<void> {
  try {
    // Owner only: an export holds the plant's programs (where the platform has modes).
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const probe = path.join(dir, `.octoplant-write-test-${process.pid}`)
    await rm(probe, { force: true })
    await writeFile(probe, '', { flag: 'wx', mode: 0o600 })
    await rm(probe, { force: true })
  } catch (e) {
    throw new InputError('path', `must be a folder the runner can write to; ${dir} is not (${(e as Error).message}). Choose a folder the runner's user may write to`)
  }
}

export interface SpaceNeed {
  dir: string
  /** The ZIP will be extracted beside itself: it needs twice its size. */
  extract: boolean
}

/** Free bytes of the file system that holds `dir`. */
export async function freeSpace(dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

const twice = (need: SpaceNeed) => (need.extract ? ` (the ZIP twice, since ${setting('extract', 'true')})` : '')

/** Refuses a download whose announced size does not fit. */
export async function ensureRoom(need: SpaceNeed, contentLength: number | undefined): Promise<void> {
  if (contentLength === undefined) return
  const wanted = contentLength * (need.extract ? 2 : 1)
  const available = await freeSpace(need.dir)
  if (available >= wanted) return
  throw new DiskSpaceError(
    `not enough free disk space in ${need.dir}: the export needs ${formatBytes(wanted)}${twice(need)} and ${formatBytes(available)} are free. Free space there, or set ${setting('path')} to a folder on a larger disk`
  )
}

/** Refuses an extraction whose uncompressed size (the central directory's sum) does not fit. */
export async function ensureRoomToExtract(dir: string, bytes: number): Promise<void> {
  const available = await freeSpace(dir)
  if (available >= bytes) return
  throw new DiskSpaceError(
    `not enough free disk space in ${dir} to extract the export: its entries hold ${formatBytes(bytes)} uncompressed and ${formatBytes(available)} are free. Free space there, or set ${setting('path')} to a folder on a larger disk`
  )
}

/** The disk filled up while saving: what had arrived, what was free, and what to do. */
export async function diskFilledWhileSaving(need: SpaceNeed, received: number, contentLength: number | undefined): Promise<DiskSpaceError> {
  const left = await freeSpace(need.dir).catch(() => 0)
  const total = contentLength === undefined ? '' : ` of ${formatBytes(contentLength)}`
  return new DiskSpaceError(
    `the disk filled up while saving the export in ${need.dir}: ${formatBytes(received)}${total} had arrived, the ZIP needs more${twice(need)}, and ${formatBytes(left)} were free. ` +
      `The partial file was removed. Free space there, or set ${setting('path')} to a folder on a larger disk`
  )
}

/** The disk filled up while extracting: what was written is removed, and what stood there before
 *  is left as it was. */
export function diskFilledWhileExtracting(dir: string): DiskSpaceError {
  return new DiskSpaceError(
    `the disk filled up while extracting the export into ${dir}; what was written is removed, and the files an earlier run left there are as they were. Free space there, or set ${setting('path')} to a folder on a larger disk`
  )
}
