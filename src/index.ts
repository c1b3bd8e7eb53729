import { run } from './action/main.js'

await run()
// An upload the deadline stopped waiting for may still hold the event loop: exit without it.
setTimeout(() => process.exit(), 1000).unref()
