// Runs the octoplant simulator until Ctrl-C, for trying the action (or your workflow) locally:
//   npm run simulator -- --port 64023 --running 5s --ca-out /tmp/octoplant-ca.pem
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import parseDuration from 'parse-duration'
import { startSimulator } from './server.js'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    http: { type: 'boolean', default: false },
    pending: { type: 'string', default: '1s' },
    running: { type: 'string', default: '3s' },
    fail: { type: 'string' },
    'payload-bytes': { type: 'string', default: '0' },
    'ca-out': { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})
if (values.help) {
  console.log(`octoplant simulator
  --port N            listen on 127.0.0.1:N (default: a free port)
  --http              plain HTTP instead of HTTPS
  --pending D         time an order is queued (default 1s)
  --running D         time an order runs (default 3s)
  --fail MESSAGE      every order fails with INTERNAL and this message
  --payload-bytes N   add N bytes to every export ZIP
  --ca-out FILE       write the CA certificate (PEM) to FILE
Users: versiondog / change-it`)
  process.exit(0)
}

const sim = await startSimulator({
  port: Number(values.port),
  protocol: values.http ? 'http' : 'https',
  pendingMs: durationOf('pending', values.pending),
  runningMs: durationOf('running', values.running),
  payloadBytes: Number(values['payload-bytes']),
  failWith: values.fail ? { code: 13, message: values.fail } : undefined
})
console.log(`octoplant simulator listening on ${sim.url} (user versiondog, password change-it)`)
if (sim.caPem && values['ca-out']) {
  writeFileSync(values['ca-out'], sim.caPem)
  console.log(`CA certificate written to ${values['ca-out']}: pass it as ca-certificate`)
} else if (sim.caPem) {
  console.log(`CA certificate (pass as ca-certificate):\n${sim.caPem}`)
}
const stop = () => void sim.stop().then(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

function durationOf(option: string, text: string): number {
  const ms = parseDuration(text)
  if (typeof ms !== 'number' || !(ms >= 0)) {
    console.error(`--${option} must be a duration such as 500ms, 3s or 2m; got "${text}"`)
    process.exit(2)
  }
  return ms
}
