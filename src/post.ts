import { post } from './action/post.js'

await post()
// Nothing may hold the step open once the cancel is settled.
setTimeout(() => process.exit(), 1000).unref()
