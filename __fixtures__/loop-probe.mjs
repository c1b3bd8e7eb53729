// Preloaded into a bundle under test (NODE_OPTIONS=--import …): says on stderr when the event loop
// has emptied by itself. 'beforeExit' never fires for process.exit(), nor while a handle or timer is
// left open (the process would not end at all).
process.once('beforeExit', code => process.stderr.write(`loop-probe: the event loop emptied (exit code ${code})\n`))
