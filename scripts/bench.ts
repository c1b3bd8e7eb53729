// `npm run bench`: the figures of issues 5 and 12, measured, not asserted. Prints tables, writes JSON.
//   npm run bench                   64 MiB, 512 MiB and 2 GiB exports against curl (and curl; sha256sum;
//                                   unzip -t, the shell peer that also checks); exports of 70,000
//                                   and 200,000 entries against unzip -t, and 70,000 extracted against
//                                   unzip; 10 s and 30 s export runs. Each case --runs times (3).
//   npm run bench -- --full         also a 5 min export run
//   npm run bench -- --quick        a 16 MiB export, 2,000 entries and a 3 s run, once (the smoke test in npm test)
//   npm run bench -- --only entries one part: download, paced, link, entries, polling, rezip, evidence or ghes
//                                   (paced: 512 MiB over a 1 Gbit/s link the simulator paces, against curl on it;
//                                   link: 256 and 512 MiB over a 1 Gbit/s link that does not wait for the
//                                   reader, 256 KiB whenever due, chunked, against curl on the same link;
//                                   ghes: the action's upload to GHES's legacy artifact service (the
//                                   tests' stand-in) against curl -T of the same bytes;
//                                   evidence: this bundle against the one of --evidence-base, a git
//                                   revision before the manifest, interleaved on the same files, and the
//                                   200,000-entry export compared with its own record)
// Memory is the peak of the action's whole process tree (scripts/local-runner.ts).
import { execFile } from 'node:child_process'
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cpus, totalmem, tmpdir } from 'node:os'
import * as path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { createDeflateRaw } from 'node:zlib'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { exportZip } from '../simulator/export-zip.js'
import { projectTree, zipPieces } from '../simulator/zip-writer.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server.js'
import { runLocally } from './local-runner.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
const MiB = 1024 * 1024

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    /** Run one part only: download, polling or rezip. */
    only: { type: 'string' },
    runs: { type: 'string' },
    out: { type: 'string', default: path.join(root, 'bench-results.json') },
    /** The revision whose committed dist/ is the bundle without the evidence. */
    'evidence-base': { type: 'string', default: '492f4ea' },
    dir: { type: 'string', default: path.join(tmpdir(), 'octoplant-bench') }
  }
})
const sizesMiB = values.quick ? [16] : [64, 512, 2048]
const entryCounts = values.quick ? [2000] : [70_000, 200_000]
const extractCounts = values.quick ? [2000] : [70_000]
const runs = Number(values.runs ?? (values.quick ? 1 : 3))
const runSeconds = values.quick ? [3] : values.full ? [10, 30, 300] : [10, 30]
mkdirSync(values.dir, { recursive: true })

/** A stored ZIP of about `mib` MiB, streamed to disk (never held in memory), made once. */
async function exportFileOf(mib: number): Promise<string> {
  const file = path.join(values.dir, `export-${mib}MiB.zip`)
  if (existsSync(file)) return file
  const zip = exportZip({ orderName: 'bench', createdAt: new Date(0), exportContents: { projectTree: {} }, payloadBytes: mib * MiB - 4096, compress: false })
  await pipeline(zip.stream, createWriteStream(`${file}.tmp`))
  renameSync(`${file}.tmp`, file)
  return file
}

/** A project-tree export of `count` deflated entries in nested folders (ZIP64 past 65,535), made once. */
async function entriesFileOf(count: number): Promise<string> {
  const file = path.join(values.dir, `export-${count}-entries.zip`)
  if (existsSync(file)) return file
  await pipeline(Readable.from(zipPieces(projectTree(count))), createWriteStream(`${file}.tmp`))
  renameSync(`${file}.tmp`, file)
  return file
}

function caFile(sim: Simulator): string {
  const file = path.join(values.dir, `ca-${new URL(sim.url).port}.pem`)
  writeFileSync(file, sim.caPem!)
  return file
}

/** Places an order as a user would and returns what curl needs to fetch its download. */
async function orderForCurl(sim: Simulator, ca: string): Promise<{ url: string; token: string }> {
  const curl = async (...args: string[]) => (await run('curl', ['-sS', '--fail', '--cacert', ca, ...args], { maxBuffer: 1024 * 1024 })).stdout
  const { access_token: token } = JSON.parse(
    await curl('-d', 'grant_type=password&username=versiondog&password=change-it&client_id=public-api&client_secret=ff99971a-f8c3-4d21-5345-f7cb021b4b54', `${sim.url}/v1/oauth2/token`)
  )
  const { name } = JSON.parse(await curl('-H', `authorization: Bearer ${token}`, '-d', '{"exportContents":{"projectTree":{}}}', `${sim.url}/v1/order`))
  for (;;) {
    const op = JSON.parse(await curl('-H', `authorization: Bearer ${token}`, `${sim.url}/v1/order/${name}`))
    if (op.done) break
    await new Promise(r => setTimeout(r, 100))
  }
  return { url: `${sim.url}/v1/order/${name}/download`, token }
}

/** One run of the bundled action against the simulator serving `file`: receive, check and extract
 *  times from its log, and the peak memory of its process tree. `o.entry`: another bundle; `o.inputs`:
 *  more inputs; `o.keep`: a file of the run's folder to copy out before it is removed. */
async function runAction(file: string, extract: boolean, simOptions: SimulatorOptions = {}, o: { entry?: string; inputs?: Record<string, string>; keep?: { output: string; to: string } } = {}) {
  const sim = await startSimulator({ exportFile: file, pendingMs: 0, runningMs: 300, ...simOptions })
  const out = path.join(values.dir, 'out')
  rmSync(out, { recursive: true, force: true })
  try {
    const spawnedAt = Date.now()
    const action = await runLocally({
      inputs: { 'server-url': sim.url, username: 'versiondog', password: 'change-it', 'ca-certificate': sim.caPem!, 'upload-artifact': 'false', path: out, timeout: '30m', extract: String(extract), ...o.inputs },
      entry: o.entry,
      timeoutMs: 30 * 60_000
    })
    if (o.keep && action.outputs[o.keep.output]) renameSync(action.outputs[o.keep.output], o.keep.to)
    if (action.code !== 0) throw new Error(`the action failed:\n${action.stdout}\n${action.stderr}`)
    const m = /Received in ([\d.]+)s \([^)]*\), checked in ([\d.]+)s/.exec(action.stdout)!
    const x = /Extracted \d+ entries into .* in ([\d.]+)s\./.exec(action.stdout)
    return {
      sim,
      receiveS: Number(m[1]),
      checkS: Number(m[2]),
      extractS: x ? Number(x[1]) : undefined,
      peakRssMiB: round((action.peakRssKiB ?? 0) / 1024, 1),
      coldStartMs: sim.requests[0].at - spawnedAt
    }
  } finally {
    await sim.stop()
    rmSync(out, { recursive: true, force: true })
  }
}

/** Wall time of a command, in seconds. */
async function timed(command: string, args: string[]): Promise<number> {
  const started = performance.now()
  await run(command, args, { maxBuffer: 64 * 1024 * 1024 })
  return round((performance.now() - started) / 1000, 3)
}

interface SizeRun {
  peakRssMiB: number
  receiveS: number
  checkS: number
  curlS: number
  /** receive + check ÷ curl, in the same run. */
  overCurl: number
  /** The shell peer: curl, then sha256sum, then unzip -t on what curl saved (same run). */
  shellPeerS: number
  overShellPeer: number
  coldStartMs: number
}

interface SizeRow {
  sizeMiB: number
  /** Over the paced 1 Gbit/s link (back-pressured), or the link that does not wait. */
  paced: boolean
  link?: boolean
  zipBytes: number
  runs: SizeRun[]
  naivePeakRssMiB?: number
  naiveDownloadS?: number
}

/** A 1 Gbit/s link. */
const GIGABIT = 125_000_000

async function measureSize(mib: number, simOptions: SimulatorOptions = {}): Promise<SizeRow> {
  const file = await exportFileOf(mib)
  const row: SizeRow = { sizeMiB: mib, zipBytes: statSync(file).size, runs: [], paced: !!simOptions.paceBytesPerSecond || !!simOptions.linkBytesPerSecond }
  for (let r = 0; r < runs; r++) {
    const action = await runAction(file, false, simOptions)
    // curl fetches the same bytes from the same simulator, in the same run.
    const sim = await startSimulator({ exportFile: file, pendingMs: 0, runningMs: 0, ...simOptions })
    try {
      const ca = caFile(sim)
      const { url, token } = await orderForCurl(sim, ca)
      const target = path.join(values.dir, 'curl.zip')
      const curlOut = await run('curl', ['-sS', '--fail', '--cacert', ca, '-H', `authorization: Bearer ${token}`, '-o', target, '-w', '%{time_total}', url])
      const curlS = round(Number(curlOut.stdout), 3)
      const shellPeerS = round(curlS + (await timed('sha256sum', [target])) + (await timed('unzip', ['-tq', target])), 3)
      rmSync(target, { force: true })
      const { peakRssMiB, receiveS, checkS, coldStartMs } = action
      const ours = receiveS + checkS
      row.runs.push({ peakRssMiB, receiveS, checkS, curlS, overCurl: round(ours / curlS), shellPeerS, overShellPeer: round(ours / shellPeerS), coldStartMs })
      if (r === 0 && mib <= 512 && !row.paced) {
        const naiveRun = await runLocally({
          inputs: {},
          entry: path.join(root, 'scripts/naive-client.mjs'),
          args: [sim.url, 'versiondog', 'change-it', path.join(values.dir, 'naive.zip')],
          env: { NODE_EXTRA_CA_CERTS: ca },
          timeoutMs: 10 * 60_000
        })
        if (naiveRun.code === 0) {
          row.naivePeakRssMiB = naiveRun.peakRssKiB && round(naiveRun.peakRssKiB / 1024)
          row.naiveDownloadS = round(JSON.parse(naiveRun.stdout).downloadMs / 1000)
        }
        rmSync(path.join(values.dir, 'naive.zip'), { force: true })
      }
    } finally {
      await sim.stop()
    }
  }
  return row
}

interface EntriesRun {
  peakRssMiB: number
  receiveS: number
  checkS: number
  extractS?: number
  /** unzip -t (check) or unzip (extract) on the same file, in the same run. */
  unzipS: number
  /** The action's receive + check (+ extract) ÷ unzip's. */
  overUnzip: number
}

interface EntriesRow {
  entries: number
  zipBytes: number
  extract: boolean
  runs: EntriesRun[]
}

async function measureEntries(count: number, extract: boolean): Promise<EntriesRow> {
  const file = await entriesFileOf(count)
  const row: EntriesRow = { entries: count, zipBytes: statSync(file).size, extract, runs: [] }
  const unzipped = path.join(values.dir, 'unzip-out')
  for (let r = 0; r < runs; r++) {
    const action = await runAction(file, extract)
    rmSync(unzipped, { recursive: true, force: true })
    const unzipS = extract ? await timed('unzip', ['-q', file, '-d', unzipped]) : await timed('unzip', ['-tq', file])
    rmSync(unzipped, { recursive: true, force: true })
    const { peakRssMiB, receiveS, checkS, extractS } = action
    row.runs.push({ peakRssMiB, receiveS, checkS, extractS, unzipS, overUnzip: round((receiveS + checkS + (extractS ?? 0)) / unzipS) })
  }
  return row
}

/** The committed bundle of a revision before the evidence, unpacked once. */
async function baseBundle(rev: string): Promise<string> {
  const dir = path.join(values.dir, `dist-${rev}`)
  if (!existsSync(path.join(dir, 'dist/index.js'))) {
    mkdirSync(dir, { recursive: true })
    await run('bash', ['-c', `git -C "${root}" archive "${rev}" dist package.json | tar -x -C "${dir}"`])
  }
  return path.join(dir, 'dist/index.js')
}

interface EvidenceRow {
  export: string
  /** receive + check with the manifest (this bundle) and without (the base), pair by pair. */
  withS: number[]
  withoutS: number[]
  ratio: number[]
  peakWithMiB: number[]
  peakWithoutMiB: number[]
  /** Peak of a run that also compares with the previous run's record (every entry unchanged). */
  peakComparedMiB?: number[]
  compareS?: number[]
}

async function measureEvidence(file: string, label: string, compare: boolean): Promise<EvidenceRow> {
  const base = await baseBundle(values['evidence-base']!)
  const row: EvidenceRow = { export: label, withS: [], withoutS: [], ratio: [], peakWithMiB: [], peakWithoutMiB: [] }
  const record = path.join(values.dir, 'previous.record.json')
  for (let r = 0; r < runs; r++) {
    // Interleaved, so that a noisy stretch of the machine hits both.
    const withEvidence = await runAction(file, false, {}, { keep: { output: 'record-path', to: record } })
    const without = await runAction(file, false, {}, { entry: base })
    row.withS.push(round(withEvidence.receiveS + withEvidence.checkS))
    row.withoutS.push(round(without.receiveS + without.checkS))
    row.ratio.push(round((withEvidence.receiveS + withEvidence.checkS) / (without.receiveS + without.checkS)))
    row.peakWithMiB.push(withEvidence.peakRssMiB)
    row.peakWithoutMiB.push(without.peakRssMiB)
    if (compare) {
      const started = performance.now()
      const compared = await runAction(file, false, {}, { inputs: { 'compare-with': record } })
      ;(row.peakComparedMiB ??= []).push(compared.peakRssMiB)
      ;(row.compareS ??= []).push(round((performance.now() - started) / 1000))
    }
  }
  return row
}

/** "median (min–max)" of a figure over the runs. */
function spread(values: number[], digits = 2): string {
  const sorted = [...values].sort((a, b) => a - b)
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2
  const f = (n: number) => round(n, digits).toFixed(digits)
  return sorted.length === 1 ? f(median) : `${f(median)} (${f(sorted[0])}–${f(sorted[sorted.length - 1])})`
}

interface PollRow {
  exportS: number
  actionPolls: number
  noticeDelayS: number
  delayShare: number
  naivePolls: number
}

async function measurePolling(seconds: number): Promise<PollRow> {
  const sim = await startSimulator({ pendingMs: 0, runningMs: seconds * 1000 })
  try {
    const action = await runLocally({
      inputs: { 'server-url': sim.url, username: 'versiondog', password: 'change-it', 'ca-certificate': sim.caPem!, 'upload-artifact': 'false', timeout: '30m' },
      timeoutMs: (seconds + 120) * 1000
    })
    if (action.code !== 0) throw new Error(`the action failed:\n${action.stdout}`)
    const order = [...sim.orders.values()][0]
    const doneAt = order.createdAt + seconds * 1000
    const downloadAt = sim.requests.find(r => r.path.endsWith('/download'))!.at
    const delay = (downloadAt - doneAt) / 1000
    return {
      exportS: seconds,
      actionPolls: sim.count('GET /v1/order/{name}'),
      noticeDelayS: round(delay, 2),
      delayShare: round(delay / seconds, 3),
      naivePolls: Math.ceil(seconds)
    }
  } finally {
    await sim.stop()
  }
}

/** What zipping the ZIP again at level 6 (no skipArchive) would cost: time and bytes. */
async function measureRezip(mib: number) {
  const file = await exportFileOf(mib)
  let bytes = 0
  const started = performance.now()
  await pipeline(createReadStream(file), createDeflateRaw({ level: 6 }), async function (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) bytes += chunk.length
  })
  return { sizeMiB: mib, zipBytes: statSync(file).size, level6Seconds: round((performance.now() - started) / 1000, 2), level6Bytes: bytes, skipArchiveBytes: statSync(file).size, skipArchiveExtraSeconds: 0 }
}

function round(n: number, digits = 2): number {
  return Math.round(n * 10 ** digits) / 10 ** digits
}

function table(rows: object[]): string {
  if (rows.length === 0) return ''
  const keys = Object.keys(rows[0])
  return [`| ${keys.join(' | ')} |`, `|${keys.map(() => '---').join('|')}|`, ...rows.map(r => `| ${keys.map(k => String((r as Record<string, unknown>)[k] ?? '—')).join(' | ')} |`)].join('\n')
}

const part = (name: string) => !values.only || values.only === name

interface GhesRun {
  /** The ZIP's artifact: its create call to its finalising PATCH, at the stand-in. */
  uploadS: number
  /** curl -T of the same bytes to the same stand-in, in one PUT. */
  curlS: number
  ratio: number
  peakRssMiB: number
}

/** GitHub Enterprise Server's legacy artifact service (the tests' stand-in): the whole action, with
 *  the upload, against curl -T of the ZIP's bytes to the same service. */
async function measureGhes(mib: number): Promise<{ sizeMiB: number; runs: GhesRun[] }> {
  const file = await exportFileOf(mib)
  const { startLegacyArtifactService } = await import('../simulator/ghes-artifacts.js')
  const out: GhesRun[] = []
  for (let r = 0; r < runs; r++) {
    const service = await startLegacyArtifactService()
    const sim = await startSimulator({ exportFile: file, pendingMs: 0, runningMs: 300 })
    const dir = path.join(values.dir, 'ghes-out')
    rmSync(dir, { recursive: true, force: true })
    try {
      const action = await runLocally({
        inputs: { 'server-url': sim.url, username: 'versiondog', password: 'change-it', 'ca-certificate': sim.caPem!, path: dir, 'artifact-name': 'bench' },
        env: service.env,
        timeoutMs: 30 * 60_000
      })
      if (action.code !== 0) throw new Error(`the action failed:\n${action.stdout}`)
      const created = service.calls.indexOf('POST create')
      const patched = service.calls.indexOf('PATCH patch')
      const uploadS = round((service.times[patched] - service.times[created]) / 1000, 3)
      const { env } = service
      const container = `${env.ACTIONS_RUNTIME_URL}_apis/pipelines/workflows/${env.GITHUB_RUN_ID}/artifacts?api-version=6.0-preview`
      const auth = ['-H', `authorization: Bearer ${env.ACTIONS_RUNTIME_TOKEN}`]
      const made = JSON.parse((await run('curl', ['-sS', '--fail', ...auth, '-H', 'content-type: application/json', '-d', '{"Type":"actions_storage","Name":"curl"}', container])).stdout) as { fileContainerResourceUrl: string }
      const size = statSync(file).size
      const put = await run('curl', ['-sS', '--fail', ...auth, '-T', file, '-H', `content-range: bytes 0-${size - 1}/${size}`, '-o', '/dev/null', '-w', '%{time_total}', `${made.fileContainerResourceUrl}?itemPath=curl/bench.zip`])
      const curlS = round(Number(put.stdout), 3)
      out.push({ uploadS, curlS, ratio: round(uploadS / curlS), peakRssMiB: round((action.peakRssKiB ?? 0) / 1024, 1) })
    } finally {
      await Promise.all([service.stop(), sim.stop()])
      rmSync(dir, { recursive: true, force: true })
    }
  }
  return { sizeMiB: mib, runs: out }
}
const sizes: SizeRow[] = []
for (const mib of part('download') ? sizesMiB : []) {
  console.error(`download: ${mib} MiB × ${runs} …`)
  sizes.push(await measureSize(mib))
}
for (const mib of part('paced') ? [sizesMiB[Math.min(1, sizesMiB.length - 1)]] : []) {
  console.error(`paced: ${mib} MiB over 1 Gbit/s × ${runs} …`)
  sizes.push(await measureSize(mib, { paceBytesPerSecond: GIGABIT }))
}
// The link that does not wait for the reader (simulator/link.ts): 256 MiB and 512 MiB at 1 Gbit/s.
for (const mib of part('link') ? (values.quick ? [16] : [256, 512]) : []) {
  console.error(`link: ${mib} MiB over a 1 Gbit/s link that does not wait × ${runs} …`)
  sizes.push({ ...(await measureSize(mib, { linkBytesPerSecond: GIGABIT })), link: true })
}
const entries: EntriesRow[] = []
for (const [count, extract] of part('entries') ? [...entryCounts.map(c => [c, false] as const), ...extractCounts.map(c => [c, true] as const)] : []) {
  console.error(`entries: ${count}${extract ? ', extracted' : ''} × ${runs} …`)
  entries.push(await measureEntries(count, extract))
}
const polling: PollRow[] = []
for (const s of part('polling') ? runSeconds : []) {
  console.error(`polling: ${s} s export …`)
  polling.push(await measurePolling(s))
}
const ghes = part('ghes') ? [await measureGhes(values.quick ? 16 : 512)] : []
const rezip = part('rezip') ? [await measureRezip(sizesMiB[Math.min(1, sizesMiB.length - 1)])] : []
const evidence: EvidenceRow[] = []
// Not in --quick (the smoke test in npm test): it needs the base revision in git's history, which a
// shallow checkout lacks.
if (part('evidence') && (!values.quick || values.only === 'evidence')) {
  const mib = sizesMiB[Math.min(1, sizesMiB.length - 1)]
  console.error(`evidence: ${mib} MiB, ${entryCounts.join(' and ')} entries, with and without, × ${runs} …`)
  evidence.push(await measureEvidence(await exportFileOf(mib), `${mib} MiB`, false))
  for (const count of entryCounts) evidence.push(await measureEvidence(await entriesFileOf(count), `${count.toLocaleString('en')} entries`, count === entryCounts.at(-1)))
}
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 1024 ** 3, 1), node: process.version, date: new Date().toISOString(), runs }
const result = { machine, sizes, entries, polling, rezip, evidence, ghes }
writeFileSync(values.out, JSON.stringify(result, null, 2))
const sizeTable = sizes.map(r => ({
  export: `${r.sizeMiB} MiB${r.link ? ', 1 Gbit/s link that does not wait' : r.paced ? ', 1 Gbit/s link (back-pressured)' : ''}`,
  'peak RSS, process tree (MiB)': spread(r.runs.map(x => x.peakRssMiB), 1),
  'receive + check (s)': spread(r.runs.map(x => x.receiveS + x.checkS)),
  'of which check after the last byte (s)': spread(r.runs.map(x => x.checkS)),
  'curl -o (s)': spread(r.runs.map(x => x.curlS)),
  '÷ curl': spread(r.runs.map(x => x.overCurl)),
  'curl; sha256sum; unzip -t (s)': spread(r.runs.map(x => x.shellPeerS)),
  '÷ that': spread(r.runs.map(x => x.overShellPeer)),
  'cold start (ms)': spread(r.runs.map(x => x.coldStartMs), 0),
  'naive client peak RSS (MiB)': r.naivePeakRssMiB,
  'naive client download (s)': r.naiveDownloadS
}))
const entriesTable = entries.map(r => ({
  export: `${r.entries.toLocaleString('en')} entries (${(r.zipBytes / 1e6).toFixed(1)} MB)${r.extract ? ', extracted' : ''}`,
  'peak RSS, process tree (MiB)': spread(r.runs.map(x => x.peakRssMiB), 1),
  'receive + check (s)': spread(r.runs.map(x => x.receiveS + x.checkS)),
  'of which check after the last byte (s)': spread(r.runs.map(x => x.checkS)),
  'extract (s)': r.extract ? spread(r.runs.map(x => x.extractS ?? 0)) : '—',
  peer: r.extract ? 'unzip' : 'unzip -t',
  'peer (s)': spread(r.runs.map(x => x.unzipS)),
  '÷ peer': spread(r.runs.map(x => x.overUnzip))
}))
console.log(`## Download (peak memory, speed against curl on the same TLS loopback; median (min–max) of ${runs} runs)\n\n${table(sizeTable)}\n`)
console.log(`## Many entries (against unzip on the same file; median (min–max) of ${runs} runs)\n\n${table(entriesTable)}\n`)
console.log(`## Polling (real exports of the given run time)\n\n${table(polling)}\n`)
console.log(`## Artifact: skipArchive against zipping again at level 6\n\n${table(rezip)}\n`)
const ghesTable = ghes.map(g => ({
  export: `${g.sizeMiB} MiB`,
  'legacy upload of the ZIP (s)': spread(g.runs.map(r => r.uploadS)),
  'curl -T (s)': spread(g.runs.map(r => r.curlS)),
  '÷ curl -T': spread(g.runs.map(r => r.ratio)),
  'peak RSS of the whole run (MiB)': spread(g.runs.map(r => r.peakRssMiB), 1)
}))
console.log(`## GitHub Enterprise Server: the legacy artifact service (stand-in) against curl -T\n\n${table(ghesTable)}\n`)
const evidenceTable = evidence.map(r => ({
  export: r.export,
  'with manifest + record (s)': spread(r.withS),
  [`without (${values['evidence-base']}) (s)`]: spread(r.withoutS),
  'with ÷ without': spread(r.ratio),
  'peak RSS with (MiB)': spread(r.peakWithMiB, 1),
  'peak RSS without (MiB)': spread(r.peakWithoutMiB, 1),
  'peak RSS, compared with its record (MiB)': r.peakComparedMiB ? spread(r.peakComparedMiB, 1) : '—',
  'whole compared run (s)': r.compareS ? spread(r.compareS) : '—'
}))
console.log(`## Evidence: the manifest and record against the bundle before them (median (min–max) of ${runs} interleaved pairs)\n\n${table(evidenceTable)}\n`)
console.log(`machine: ${JSON.stringify(machine)}\nwritten to ${values.out}`)
