// A stand-in for @actions/core that records what the run says, for in-process tests of run().
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import type { ActionCore } from '../src/action/main.js'

/** The inputs of an export from the simulator with its sample user, into a folder of its own. */
export function simulatorInputs(sim: { url: string; caPem?: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'server-url': sim.url,
    username: 'versiondog',
    password: 'change-it',
    'ca-certificate': sim.caPem!,
    path: mkdtempSync(path.join(tmpdir(), 'run-')),
    timeout: '20s',
    ...extra
  }
}

export interface FakeCore extends ActionCore {
  inputs: Record<string, string>
  outputs: Record<string, string>
  secrets: string[]
  logs: string[]
  failed?: string
  summaryText: string
  /** What saveState saved (the post step reads it). */
  state: Record<string, string>
}

export function fakeCore(inputs: Record<string, string>): FakeCore {
  const c: FakeCore = {
    inputs,
    outputs: {},
    secrets: [],
    logs: [],
    summaryText: '',
    state: {},
    saveState: (name: string, value: unknown) => void (c.state[name] = String(value)),
    getState: (name: string) => c.state[name] ?? '',
    // Like @actions/core: trimmed unless asked not to.
    getInput: (name: string, options?: { trimWhitespace?: boolean }) =>
      options?.trimWhitespace === false ? (inputs[name] ?? '') : (inputs[name] ?? '').trim(),
    setOutput: (name: string, value: unknown) => void (c.outputs[name] = String(value)),
    setSecret: (s: string) => void c.secrets.push(s),
    setFailed: (m: string | Error) => void (c.failed = String(m)),
    info: (m: string) => void c.logs.push(m),
    warning: (m: string | Error) => void c.logs.push(`warning: ${m}`),
    notice: (m: string | Error) => void c.logs.push(`notice: ${m}`),
    debug: (m: string) => void c.logs.push(`debug: ${m}`),
    startGroup: (m: string) => void c.logs.push(`group: ${m}`),
    endGroup: () => void c.logs.push('endgroup'),
    summary: {
      addRaw(text: string) {
        c.summaryText += text
        return this
      },
      async write() {
        return this
      }
    }
  } as FakeCore
  return c
}
