// `npm run demo`: the whole action, bundled as the runner runs it, against the built-in simulator.
import { startSimulator } from '../simulator/server.js'
import { runLocally } from './local-runner.js'

const sim = await startSimulator({ pendingMs: 1000, runningMs: 4000 })
console.log(`Simulator: ${sim.url} (HTTPS, certificate from its own CA)\n`)
try {
  const run = await runLocally({
    inputs: {
      'server-url': sim.url,
      username: 'versiondog',
      password: 'change-it',
      'export-contents': JSON.stringify({
        projectTree: { versionInformation: 'VERSION_INFORMATION_ONLY_LATEST' },
        jobResults: { exportType: 'EXPORT_TYPE_JSON', lastXDays: 7 },
        userManagement: {}
      }),
      'ca-certificate': sim.caPem!,
      extract: 'true',
      timeout: '2m'
    }
  })
  console.log('── action log ──')
  process.stdout.write(run.stdout.replace(/^::add-mask::.*$/gm, '::add-mask::***'))
  if (run.stderr) process.stdout.write(run.stderr)
  console.log('\n── outputs ──')
  for (const [k, v] of Object.entries(run.outputs)) console.log(`${k}: ${v}`)
  console.log('\n── job summary ──')
  console.log(run.summary)
  console.log('── figures ──')
  console.log(`exit code: ${run.code}`)
  console.log(`requests to the server: ${sim.requests.length} (${sim.countsText()})`)
  console.log(`wall time: ${(run.durationMs / 1000).toFixed(2)} s (the simulated export takes 5.0 s)`)
  if (run.peakRssKiB) console.log(`peak memory (VmHWM): ${(run.peakRssKiB / 1024).toFixed(1)} MiB`)
  console.log(`ZIP: ${run.outputs['zip-path']}`)
  process.exitCode = run.code ?? 1
} finally {
  await sim.stop()
}
