// Reading a ZIP file on disk: its bytes front to back in one reused buffer, and its central
// directory, record by record or as an index by local-header offset.
import { open } from 'node:fs/promises'
import { Carry } from './carry.js'
import { EntryTable } from './entry-table.js'
import { CENTRAL_SIG, type CentralRecord, findCentralDirectory, InvalidZipError, parseCentralRecord } from './format.js'

/** Reads of a ZIP from disk, into one reused buffer (small: a read that ends inside an entry is copied). */
const READ_BYTES = 64 * 1024

/** Feeds a file from `start` to its end into `visit`, in reads of one reused buffer. */
export async function readFile(file: string, start: number, visit: (chunk: Buffer) => Promise<void> | void, end = Infinity): Promise<void> {
  const handle = await open(file, 'r')
  try {
    const buffer = Buffer.allocUnsafe(READ_BYTES)
    for (let at = start; at < end; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(READ_BYTES, end - at), at)
      if (bytesRead === 0) break
      at += bytesRead
      await visit(buffer.subarray(0, bytesRead))
    }
  } finally {
    await handle.close()
  }
}

/** Calls `visit` for each record of the ZIP's central directory, in its order; `count` first with
 *  the number of records its end record announces. */
export async function forEachCentralRecord(file: string, visit: (record: CentralRecord, nameKey: number) => void, count?: (n: number) => void): Promise<number> {
  let seen = 0
  for await (const batch of centralRecords(file, count)) {
    for (const { record, nameKey } of batch) visit(record, nameKey)
    seen += batch.length
  }
  return seen
}

/** The records of the ZIP's central directory, in its order, a read's worth at a time (so that a
 *  caller can stream them alongside another list); `count` first, as above. */
export async function* centralRecords(file: string, count?: (n: number) => void): AsyncGenerator<{ record: CentralRecord; nameKey: number }[]> {
  const handle = await open(file, 'r')
  try {
    const { size } = await handle.stat()
    const length = Math.min(size, 22 + 0xffff + 20 + 56)
    const tail = Buffer.alloc(length)
    await handle.read(tail, 0, length, size - length)
    const where = findCentralDirectory(tail, size)
    count?.(where.count)
    const carry = new Carry()
    const buffer = Buffer.allocUnsafe(READ_BYTES)
    let seen = 0
    for (let at = where.offset, end = where.offset + where.size; at < end; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(READ_BYTES, end - at), at)
      if (bytesRead === 0) break
      at += bytesRead
      const buf = carry.join(buffer.subarray(0, bytesRead))
      const batch: { record: CentralRecord; nameKey: number }[] = []
      let pos = 0
      for (let parsed; (parsed = parseCentralRecord(buf, pos)); pos = parsed.end) {
        if (buf.readUInt32LE(pos) !== CENTRAL_SIG) throw new InvalidZipError('not a valid ZIP: its central directory is damaged')
        batch.push({ record: parsed.record, nameKey: parsed.nameKey })
      }
      carry.keep(buf, pos)
      seen += batch.length
      if (batch.length) yield batch
    }
    if (seen !== where.count) throw new InvalidZipError(`not a valid ZIP: its end record counts ${where.count} entries, its central directory lists ${seen}`)
  } finally {
    await handle.close()
  }
}

/** The central directory as an index by local-header offset (typed arrays, 37 bytes an entry). */
export async function readCentralIndex(file: string, visit?: (record: CentralRecord, index: number) => void): Promise<EntryTable> {
  let index = new EntryTable()
  await forEachCentralRecord(
    file,
    (r, nameKey) => {
      visit?.(r, index.count)
      index.add(r.offset, r.compressedSize, r.size, r.crc32, nameKey)
    },
    // At most a million slots up front: a lying end record cannot reserve more.
    n => (index = new EntryTable(Math.min(n, 1_000_000)))
  )
  index.sortByOffset()
  return index
}
