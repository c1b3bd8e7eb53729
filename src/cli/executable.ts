// Entry point of the single-file executables (scripts/build-exe.sh): the same command as the npm
// package, in one CommonJS script, as Node's single executable applications need it in Node 24.
import { start } from './start.js'

void start(`single executable, Node ${process.versions.node}`).then(code => {
  process.exitCode = code
})
