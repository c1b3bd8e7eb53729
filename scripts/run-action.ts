// `npm run action -- server-url=https://127.0.0.1:64023 username=versiondog …`: runs the bundled
// action (dist/index.js, then its post step) on this machine as the runner would, with each
// name=value as an input, and prints its log, outputs and job summary. For trying the action
// against the simulator (npm run simulator) or a test server without a runner.
import { POST_ENTRY, runLocally } from './local-runner.js'

const inputs: Record<string, string> = {}
for (const arg of process.argv.slice(2)) {
  const at = arg.indexOf('=')
  if (at <= 0) {
    console.error(`inputs are given as name=value (e.g. server-url=https://127.0.0.1:64023); got "${arg}"`)
    process.exit(2)
  }
  inputs[arg.slice(0, at)] = arg.slice(at + 1)
}

const main = await runLocally({ inputs, timeoutMs: 24 * 3600_000 })
const post = await runLocally({ inputs, entry: POST_ENTRY, state: main.state })
const hideMasks = (text: string) => text.replace(/^::add-mask::.*$/gm, '::add-mask::***')
process.stdout.write(hideMasks(main.stdout + main.stderr + post.stdout + post.stderr))
console.log('\n── outputs ──')
for (const [k, v] of Object.entries(main.outputs)) console.log(`${k}: ${v}`)
console.log('\n── job summary ──')
console.log(main.summary)
process.exitCode = main.code ?? 1
