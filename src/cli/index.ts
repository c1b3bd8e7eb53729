#!/usr/bin/env node
// Entry point of the octoplant-export command (bundled to dist/cli/index.js).
import { start } from './start.js'

process.exitCode = await start()
// No forced exit: the command ends when its connection is closed and its timers are done, so a
// handle left open shows as a command that does not end (every test that runs it would fail).
