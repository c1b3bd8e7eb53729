// `npm run bench`: the figures of issue 5, measured, not asserted. Prints a table and writes JSON.
//   npm run bench                   64 MiB, 512 MiB and 2 GiB exports; 10 s and 30 s export runs
//   npm run bench -- --full         also a 5 min export run
//   npm run bench -- --quick        one 16 MiB export and a 3 s run (the smoke test in npm test)
//   npm run bench -- --only polling one part: download, polling or rezip
import { execFile } from 'node:child_process'
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cpus, totalmem, tmpdir } from 'node:os'
import * as path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import { createDeflateRaw } from 'node:zlib'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { exportZip } from '../simulator/export-zip.js'
import { startSimulator, type Simulator } from '../simulator/server.js'
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
    out: { type: 'string', default: path.join(root, 'bench-results.json') },
    dir: { type: 'string', default: path.join(tmpdir(), 'octoplant-bench') }
  }
})
const sizesMiB = values.quick ? [16] : [64, 512, 2048]
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

interface SizeRow {
  sizeMiB: number
  zipBytes: number
  actionPeakRssMiB?: number
  actionReceiveS: number
  actionVerifyS: number
  actionTotalS: number
  curlS: number
  receiveOverCurl: number
  downloadPhaseOverCurl: number
  coldStartMs: number
  naivePeakRssMiB?: number
  naiveDownloadS?: number
}

async function measureSize(mib: number): Promise<SizeRow> {
  const file = await exportFileOf(mib)
  const zipBytes = statSync(file).size
  const sim = await startSimulator({ exportFile: file, pendingMs: 0, runningMs: 300 })
  const ca = caFile(sim)
  const out = path.join(values.dir, 'out')
  try {
    const spawnedAt = Date.now()
    const action = await runLocally({
      inputs: { 'server-url': sim.url, username: 'versiondog', password: 'change-it', 'ca-certificate': sim.caPem!, 'upload-artifact': 'false', path: out, timeout: '30m' },
      timeoutMs: 30 * 60_000
    })
    if (action.code !== 0) throw new Error(`the action failed:\n${action.stdout}\n${action.stderr}`)
    const m = /Received in ([\d.]+)s \([^)]*\), checked in ([\d.]+)s/.exec(action.stdout)!
    const coldStartMs = sim.requests[0].at - spawnedAt
    rmSync(out, { recursive: true, force: true })

    const { url, token } = await orderForCurl(sim, ca)
    const target = path.join(values.dir, 'curl.zip')
    const curlOut = await run('curl', ['-sS', '--fail', '--cacert', ca, '-H', `authorization: Bearer ${token}`, '-o', target, '-w', '%{time_total}', url])
    const curlS = Number(curlOut.stdout)
    rmSync(target, { force: true })

    let naive: { peak?: number; downloadS?: number } = {}
    if (mib <= 512) {
      const naiveRun = await runLocally({
        inputs: {},
        entry: path.join(root, 'scripts/naive-client.mjs'),
        args: [sim.url, 'versiondog', 'change-it', path.join(values.dir, 'naive.zip')],
        env: { NODE_EXTRA_CA_CERTS: ca },
        timeoutMs: 10 * 60_000
      })
      if (naiveRun.code === 0) naive = { peak: naiveRun.peakRssKiB, downloadS: JSON.parse(naiveRun.stdout).downloadMs / 1000 }
      rmSync(path.join(values.dir, 'naive.zip'), { force: true })
    }
    const receive = Number(m[1])
    const verify = Number(m[2])
    return {
      sizeMiB: mib,
      zipBytes,
      actionPeakRssMiB: action.peakRssKiB && round(action.peakRssKiB / 1024),
      actionReceiveS: receive,
      actionVerifyS: verify,
      actionTotalS: round(action.durationMs / 1000),
      curlS: round(curlS, 3),
      receiveOverCurl: round(receive / curlS),
      downloadPhaseOverCurl: round((receive + verify) / curlS),
      coldStartMs,
      naivePeakRssMiB: naive.peak && round(naive.peak / 1024),
      naiveDownloadS: naive.downloadS && round(naive.downloadS)
    }
  } finally {
    await sim.stop()
  }
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
const sizes: SizeRow[] = []
for (const mib of part('download') ? sizesMiB : []) {
  console.error(`download: ${mib} MiB …`)
  sizes.push(await measureSize(mib))
}
const polling: PollRow[] = []
for (const s of part('polling') ? runSeconds : []) {
  console.error(`polling: ${s} s export …`)
  polling.push(await measurePolling(s))
}
const rezip = part('rezip') ? [await measureRezip(sizesMiB[Math.min(1, sizesMiB.length - 1)])] : []
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: round(totalmem() / 1024 ** 3, 1), node: process.version, date: new Date().toISOString() }
const result = { machine, sizes, polling, rezip }
writeFileSync(values.out, JSON.stringify(result, null, 2))
console.log(`## Download (peak memory, speed against curl on the same TLS loopback)\n\n${table(sizes)}\n`)
console.log(`## Polling (real exports of the given run time)\n\n${table(polling)}\n`)
console.log(`## Artifact: skipArchive against zipping again at level 6\n\n${table(rezip)}\n`)
console.log(`machine: ${JSON.stringify(machine)}\nwritten to ${values.out}`)
