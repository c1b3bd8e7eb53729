import { post } from './action/post.js'

// The step ends when nothing is left to do: the cancel's connection is closed, no timer holds it.
await post()
