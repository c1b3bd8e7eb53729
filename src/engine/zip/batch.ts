// Inflating many small entries in one zlib call. An export holds tens of thousands of entries of a
// few hundred bytes; inflated one by one, each pays for a zlib stream object of its own (the
// documented API builds one per inflateRawSync call) more than for its bytes. Here the small
// deflated entries that have arrived whole are framed as the members of one gzip stream, which
// gunzip inflates in one call, on libuv's thread pool while the scan goes on: zlib resets its state
// between members and checks each member's CRC-32 and size against the trailer we give it (Node
// reads concatenated gzip members, RFC 1952 § 2.2; documented since v6). The scan then treats each
// entry's slice of the output as if it had inflated it alone (scan.ts).
//
// Weighed: reusing one inflater needs zlib's internal binding (a private API); fflate's inflate is
// slower than zlib here; a worker thread would need a second bundle and a heap of its own, where
// the thread pool is there already (BENCHMARKS.md).
//
// Why a success means what inflating each entry alone would mean — each deflate stream ends exactly
// where its entry's data ends, and inflates to its stated size and CRC-32 — when:
//  1. the gzip input is H D₁ T₁ H D₂ T₂ … (H our fixed header, Dᵢ an entry's data, Tᵢ its CRC-32 and
//     size), and the bytes 1f 8b 08 (a gzip member's first three) occur in it only where an H
//     starts: zlib can then start a member only at an H;
//  2. every entry's size is above zero, zlib used every input byte, and the output's length is the
//     sum of the sizes: a member read across two of ours would be checked against the later
//     trailer's size only, and the output would come out short.
// So zlib read exactly our members, each deflate stream ended right before its trailer (that is,
// at its entry's end), and each output matched its trailer. Anything else is not batched, or the
// batch fails and its entries are inflated one by one, which names what is wrong.
import { gunzip } from 'node:zlib'
import { DEFLATED, DESCRIPTOR_SIG_BYTES, type EntryHeader, LOCAL_SIG, readUInt64 } from './format.js'
import { ROOM, SYNC_COMPRESSED_MAX, SYNC_OUTPUT_MAX } from './inflate.js'

/** An entry of a batch, as the scan takes it: its deflated bytes (what the scan counts as consumed),
 *  their output, and the output's CRC-32 (zlib compared it with the one the ZIP states). */
export interface Inflated {
  compressedSize: number
  output: Buffer
  crc32: number
}

/** Entries inflated together, taken by the scan one by one in their order (one array a field, and
 *  an entry's output is sliced only when the scan takes it). */
export class Batch {
  private next = 0

  constructor(
    private readonly output: Buffer,
    /** File offsets of the entries' local headers; their deflated bytes; where each one's output
     *  ends in `output`; their CRC-32s. Typed arrays: a batch outlives a young-generation GC or
     *  two, and what it holds then is copied by that GC, which a typed array's contents are not. */
    private readonly offsets: Float64Array,
    private readonly compressedSizes: Float64Array,
    private readonly outputEnds: Float64Array,
    private readonly crcs: Uint32Array
  ) {}

  get done(): boolean {
    return this.next === this.offsets.length
  }

  /** The entry whose local header is at `offset`, when it is the next one. */
  take(offset: number): Inflated | undefined {
    const i = this.next
    if (this.offsets[i] !== offset) return undefined
    this.next++
    return { compressedSize: this.compressedSizes[i], output: this.output.subarray(i ? this.outputEnds[i - 1] : 0, this.outputEnds[i]), crc32: this.crcs[i] }
  }
}

/** A batch on its way through zlib (on libuv's thread pool), from the local header at file offset
 *  `at`. */
interface Pending {
  at: number
  promise: Promise<void>
  done: boolean
  batch?: Batch
}

/** The scan's side of batching: when to start a batch, and each entry's output from it. zlib
 *  inflates batches on the thread pool while the scan takes the entries of the one before and more
 *  bytes arrive, so the main thread waits for zlib only when it has nothing else to do. */
export class Batches {
  private batch?: Batch
  /** Batches on their way, in file order. */
  private readonly pending: Pending[] = []
  /** Where the last batch tried ends (the file offset of the local header after it): no batch is
   *  tried before it, and while batches work the next one starts there. */
  private from = 0
  /** Batches work for this ZIP: the next one starts at `from` as soon as its bytes are there, and a
   *  scan at a header waits for bytes rather than read alone. */
  private working = false
  /** Framing buffers that zlib is done with. */
  private readonly spare: Scratch[] = []

  /** New bytes are in `buf` (`offset`: buf[0]'s file offset; `final`: no more will come): starts
   *  the next batches of a run whose bytes have arrived. */
  arrived(buf: Buffer, offset: number, final: boolean): void {
    while (this.working && this.pending.length < IN_FLIGHT) {
      const at = this.from - offset
      if (at < 0 || (buf.length - at < BATCH_INPUT && !final)) return
      this.start(buf, at, offset)
    }
  }

  /** At a local header (buf[at]): undefined to go on (the entry is then a batch's or read alone), a
   *  promise to wait for a batch that starts here, or 'wait' for more bytes (while a batch that
   *  starts here is on its way, or while gathering the bytes of one). */
  atHeader(buf: Buffer, at: number, offset: number, final: boolean): 'wait' | Promise<void> | undefined {
    if (this.batch && !this.batch.done) return undefined
    const here = offset + at
    // Batches that the scan went past (reading their entries one by one) are of no more use.
    while (this.pending.length && this.pending[0].at < here) this.pending.shift()
    let p: Pending | undefined = this.pending[0]
    if (!p && here >= this.from) {
      if (this.working && !final && buf.length - at < BATCH_INPUT) return 'wait'
      p = this.start(buf, at, offset)
    }
    if (p?.at !== here) return undefined
    if (p.done) return this.adopt(buf, offset, final)
    // Bytes go on arriving while zlib works, up to a bound; at the end there is nothing to wait for.
    if (final || buf.length - at >= HOLD_MAX) return p.promise.then(() => this.adopt(buf, offset, final))
    return 'wait'
  }

  /** The entry's output, when it is the batch's next and agrees with what the ZIP says of it
   *  (`known`: its sizes are stated, perhaps by the central directory); else the batch is dropped. */
  take(h: EntryHeader, known: boolean): Inflated | undefined {
    const taken = this.batch?.take(h.offset)
    if (taken && (!known || (taken.compressedSize === h.compressedSize && taken.output.length === h.size && taken.crc32 === h.crc32 >>> 0))) return taken
    this.batch = undefined
    return undefined
  }

  /** Plans a batch from buf[at] and hands it to zlib; undefined when there is nothing to batch. */
  private start(buf: Buffer, at: number, offset: number): Pending | undefined {
    const scratch = this.spare.pop() ?? new Scratch()
    const plan = planAhead(buf, at, offset, scratch)
    this.from = plan.skipUntil
    if (!plan.entries) {
      this.spare.push(scratch)
      this.working = false
      return undefined
    }
    const p: Pending = { at: offset + at, done: false, promise: Promise.resolve() }
    p.promise = inflatePlanned(plan.entries, plan.input, offset).then(batch => {
      p.batch = batch
      p.done = true
      this.spare.push(scratch)
    })
    this.pending.push(p)
    this.working = true
    return p
  }

  /** The first pending batch is done: it is the one in hand (when zlib took it; else its entries
   *  are read one by one, and no further batch is started until the scan is past them). */
  private adopt(buf: Buffer, offset: number, final: boolean): undefined {
    this.batch = this.pending.shift()!.batch
    if (!this.batch) this.working = false
    this.arrived(buf, offset, final)
    return undefined
  }
}

/** An entry as the batch reads it from its local header and its data descriptor. */
interface Planned {
  /** Positions in the scanned buffer: local header, data, end of data, the next local header. */
  header: number
  data: number
  end: number
  next: number
  crc: number
  size: number
}

/** A gzip member's header: deflate, no flags, no time, unknown OS. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff])
const MEMBER_START = GZIP_HEADER.subarray(0, 3)
const TRAILER = 8
/** Output of one batch at most: enough to cover many chunks' worth of small entries. */
const BATCH_OUTPUT_MAX = SYNC_OUTPUT_MAX
/** Compressed bytes of one batch at most, and the bytes a run of batches waits for before it starts
 *  the next: each batch costs a zlib context, and the next one is inflated while the scan takes the
 *  entries of this one. */
const BATCH_INPUT = 128 * 1024
/** Bytes held after a batch's start while zlib inflates it, before the scan waits for zlib. */
const HOLD_MAX = 1024 * 1024
/** Batches on their way at once: zlib inflates one while the scan gives it the next. */
const IN_FLIGHT = 2

/** A batch's entries and their gzip stream, as planned from the bytes at hand (no entries when
 *  fewer than two can be batched), and the file offset up to which the entries are then read one
 *  by one (so that a batch that failed is not tried again entry by entry). */
type Plan = { skipUntil: number } & ({ entries: Planned[]; input: Buffer } | { entries?: undefined; input?: undefined })

/** Plans and frames a batch of the small deflated entries that lie whole in `buf` from `at` (a local
 *  header; `offset` is buf[0]'s file offset). */
function planAhead(buf: Buffer, at: number, offset: number, scratch: Scratch): Plan {
  const planned = planBatch(buf, at)
  // An entry whose bytes could start a gzip member is read alone, and the batch ends before it.
  const clean = membersBeforeStrayStart(buf, planned)
  const skipUntil = offset + (planned[clean]?.next ?? planned.at(-1)?.next ?? at)
  if (clean < 2) return { skipUntil }
  const entries = planned.slice(0, clean)
  return { entries, input: scratch.frame(buf, entries), skipUntil }
}

/** The batch of planned entries, once zlib has inflated them; undefined when it refused them. */
function inflatePlanned(planned: Planned[], input: Buffer, offset: number): Promise<Batch | undefined> {
  // What the batch needs of the plan, taken now: the plan's objects are not held while zlib works.
  const n = planned.length
  const offsets = new Float64Array(n)
  const compressedSizes = new Float64Array(n)
  const outputEnds = new Float64Array(n)
  const crcs = new Uint32Array(n)
  let total = 0
  for (let i = 0; i < n; i++) {
    const p = planned[i]
    offsets[i] = offset + p.header
    compressedSizes[i] = p.end - p.data
    outputEnds[i] = total += p.size
    crcs[i] = p.crc >>> 0
  }
  return gunzipMembers(input, total).then(output => output && new Batch(output, offsets, compressedSizes, outputEnds, crcs))
}

/** Inflates together the small deflated entries that lie whole in `buf` from `at`: the batch, and
 *  the file offset up to which entries are then read one by one (one batch alone, as the tests
 *  look at it; the scan goes through Batches). */
export async function inflateAhead(buf: Buffer, at: number, offset: number, scratch: Scratch): Promise<{ batch?: Batch; skipUntil: number }> {
  const { entries, input, skipUntil } = planAhead(buf, at, offset, scratch)
  return { batch: entries && (await inflatePlanned(entries, input, offset)), skipUntil }
}

/** The entries from buf[at] that a batch can take: deflated, small, not empty, whole in `buf`, with
 *  sizes in the local header or in a signed data descriptor; up to the first that is not. */
function planBatch(buf: Buffer, at: number): Planned[] {
  const planned: Planned[] = []
  let output = 0
  let input = 0
  for (let p = at; buf.length - p >= 30 && buf.readUInt32LE(p) === LOCAL_SIG; ) {
    const flags = buf.readUInt16LE(p + 6)
    if (buf.readUInt16LE(p + 8) !== DEFLATED || flags & 0x1) break
    const data = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28)
    const entry = data <= buf.length ? (flags & 0x8 ? signedDescriptorAfter(buf, data) : sizesInHeader(buf, p, data)) : undefined
    if (!entry || entry.size === 0 || entry.size > SYNC_OUTPUT_MAX || entry.next > buf.length || output + entry.size > BATCH_OUTPUT_MAX) break
    if (planned.length && input + entry.end - data > BATCH_INPUT) break
    planned.push({ header: p, data, end: entry.end, next: entry.next, crc: entry.crc, size: entry.size })
    output += entry.size
    input += entry.end - data
    p = entry.next
  }
  return planned
}

interface Sizes {
  crc: number
  size: number
  /** End of the data, and where the next entry starts. */
  end: number
  next: number
}

function sizesInHeader(buf: Buffer, p: number, data: number): Sizes | undefined {
  const compressedSize = buf.readUInt32LE(p + 18)
  const size = buf.readUInt32LE(p + 22)
  // 0xFFFFFFFF: the sizes are in a ZIP64 extra field; such an entry is read one by one.
  if (compressedSize > SYNC_COMPRESSED_MAX || size === 0xffffffff) return undefined
  return { crc: buf.readUInt32LE(p + 14), size, end: data + compressedSize, next: data + compressedSize }
}

/** The first signed data descriptor after `data` whose compressed size is the distance to it (4- or
 *  8-byte sizes). A false one inside the data only makes the batch fail. */
function signedDescriptorAfter(buf: Buffer, data: number): Sizes | undefined {
  const last = data + SYNC_COMPRESSED_MAX
  for (let q = buf.indexOf(DESCRIPTOR_SIG_BYTES, data); q >= 0 && q <= last; q = buf.indexOf(DESCRIPTOR_SIG_BYTES, q + 1)) {
    if (buf.length < q + 24) return undefined
    const distance = q - data
    const crc = buf.readUInt32LE(q + 4)
    // Narrow: sizes of 4 bytes; the size must then be above zero, which tells it from the wide form.
    if (buf.readUInt32LE(q + 8) === distance && buf.readUInt32LE(q + 12) !== 0) return { crc, size: buf.readUInt32LE(q + 12), end: q, next: q + 16 }
    if (readUInt64(buf, q + 8) === distance) return { crc, size: readUInt64(buf, q + 16), end: q, next: q + 24 }
  }
  return undefined
}

function memberLength(p: Planned): number {
  return GZIP_HEADER.length + (p.end - p.data) + TRAILER
}

/** One gzip stream of the planned entries' data, in a buffer reused from batch to batch. */
export class Scratch {
  private store = Buffer.alloc(0)

  frame(buf: Buffer, planned: Planned[]): Buffer {
    const length = planned.reduce((n, p) => n + memberLength(p), 0)
    if (this.store.length < length) this.store = Buffer.allocUnsafe(Math.max(length, 2 * this.store.length))
    const input = this.store.subarray(0, length)
    let w = 0
    for (const p of planned) {
      w += GZIP_HEADER.copy(input, w)
      w += buf.copy(input, w, p.data, p.end)
      w = input.writeUInt32LE(p.crc >>> 0, w)
      w = input.writeUInt32LE(p.size, w)
    }
    return input
  }
}

/** The members' output (`total` bytes, their sizes added), or undefined unless zlib read exactly the
 *  members framed (see the top).
 *  Inflated on libuv's thread pool (zlib's asynchronous API). */
function gunzipMembers(input: Buffer, total: number): Promise<Buffer | undefined> {
  return new Promise(resolve =>
    gunzip(input, { info: true, chunkSize: Math.max(64, total + ROOM), maxOutputLength: total }, (error, result) => {
      const { buffer, engine } = (result ?? {}) as unknown as { buffer?: Buffer; engine?: { bytesWritten: number } }
      resolve(!error && engine?.bytesWritten === input.length && buffer?.length === total ? buffer : undefined)
    })
  )
}

/** How many members come before the first whose data or trailer, framed, would hold the bytes that
 *  start a gzip member (1f 8b 08): all of them when none does. In the framed stream such bytes can
 *  lie inside an entry's data, which are the bytes of `buf` (one search finds them all), or take in
 *  its trailer (checked member by member). They cannot start inside our header (1f 8b 08 00 00 00 00
 *  00 00 ff) but at its first byte, nor in the last two bytes of a trailer (the next header goes on
 *  1f 8b, not 08). */
function membersBeforeStrayStart(buf: Buffer, planned: Planned[]): number {
  let hit = -1
  for (let i = 0; i < planned.length; i++) {
    const p = planned[i]
    if (hit < p.data) hit = buf.indexOf(MEMBER_START, p.data)
    if (hit < 0) hit = Infinity
    if (hit + MEMBER_START.length <= p.end || strayStartAtTrailer(buf, p)) return i
  }
  return planned.length
}

/** The bytes 1f 8b 08 start within the last two bytes of the entry's data or the first six of its
 *  trailer (its CRC-32 and size, little-endian). */
function strayStartAtTrailer(buf: Buffer, p: Planned): boolean {
  for (let k = -2; k <= 5; k++) if (framedByte(buf, p, k) === 0x1f && framedByte(buf, p, k + 1) === 0x8b && framedByte(buf, p, k + 2) === 0x08) return true
  return false
}

/** The byte at `k` from the end of the entry's data in its member: the data's before 0 (-1 before
 *  the data's start), the trailer's from 0. */
function framedByte(buf: Buffer, p: Planned, k: number): number {
  if (k < 0) return p.end + k >= p.data ? buf[p.end + k] : -1
  return (k < 4 ? p.crc >>> (8 * k) : p.size >>> (8 * (k - 4))) & 0xff
}
