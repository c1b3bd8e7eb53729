// `npm run demo`: the whole action, bundled as the runner runs it, against the built-in simulator,
// twice: the first export is the baseline, the second compares with its record (the simulator's
// project tree changes between orders: a file added, one removed, one changed).
import { startSimulator } from '../simulator/server.js'
import { runLocally } from './local-runner.js'

const TOKEN = 'demo-access-token-made-in-the-adminclient'
const sim = await startSimulator({ pendingMs: 1000, runningMs: 4000, changingTree: true, accessTokens: { [TOKEN]: { user: 'versiondog' } } })
console.log(`Simulator: ${sim.url} (HTTPS, certificate from its own CA)\n`)

function exportOnce(extra: Record<string, string>) {
  return runLocally({
    inputs: {
      'server-url': sim.url,
      token: TOKEN,
      'export-contents': JSON.stringify({
        projectTree: { versionInformation: 'VERSION_INFORMATION_ONLY_LATEST' },
        jobResults: { exportType: 'EXPORT_TYPE_JSON', lastXDays: 7 },
        unequalJobResults: {},
        userManagement: {}
      }),
      'ca-certificate': sim.caPem!,
      extract: 'true',
      timeout: '2m',
      ...extra
    }
  })
}

try {
  const baseline = await exportOnce({ 'artifact-name': 'octoplant-demo-baseline' })
  console.log(`── baseline: exit ${baseline.code}, record ${baseline.outputs['record-path']} ──\n`)
  const run = await exportOnce({ 'artifact-name': 'octoplant-demo', 'compare-with': baseline.outputs['record-path'] ?? '' })
  console.log('── action log (the second export) ──')
  process.stdout.write(run.stdout.replace(/^::add-mask::.*$/gm, '::add-mask::***'))
  if (run.stderr) process.stdout.write(run.stderr)
  console.log('\n── outputs ──')
  for (const [k, v] of Object.entries(run.outputs)) console.log(`${k}: ${v}`)
  console.log('\n── job summary ──')
  console.log(run.summary)
  console.log('── figures ──')
  console.log(`exit codes: ${baseline.code}, ${run.code}`)
  console.log(`requests to the server: ${sim.requests.length} for both (${sim.countsText()})`)
  console.log(`wall time: ${(run.durationMs / 1000).toFixed(2)} s for the second (the simulated export takes 5.0 s)`)
  if (run.peakRssKiB) console.log(`peak memory (VmHWM): ${(run.peakRssKiB / 1024).toFixed(1)} MiB`)
  console.log(`ZIP: ${run.outputs['zip-path']}`)
  process.exitCode = baseline.code || run.code || 0
} finally {
  await sim.stop()
}
