// What both steps of the Action (main and post) share: the runner's toolkit, the state main leaves
// for post, the inputs read with every secret masked first. Nothing here reaches the export flow,
// the artifact service or the ZIP engine, so the post step's bundle stays small.
import { readFileSync, realpathSync } from 'node:fs'
import * as tls from 'node:tls'
import * as core from '@actions/core'
import { type Clock, systemClock } from '../base/clock.js'
import { Secrets } from '../base/secrets.js'
import { renderSettings } from '../base/setting-ref.js'
import { commandFree } from '../base/untrusted.js'
import { type ConnectionInputs, readConnection } from '../shared/connection-inputs.js'

/** The part of @actions/core the run uses. */
export type ActionCore = Pick<
  typeof core,
  'getInput' | 'setOutput' | 'setSecret' | 'setFailed' | 'info' | 'warning' | 'notice' | 'debug' | 'saveState' | 'getState'
> & { summary: { addRaw(text: string, addEOL?: boolean): unknown; write(): Promise<unknown> } }

/** What both steps of the Action take from the runner. */
export interface StepDeps {
  core: ActionCore
  env: Record<string, string | undefined>
  clock: Clock
  readFile: (file: string) => string
  realpath?: (file: string) => string
  /** Adds PEM certificates to the trust store of every TLS connection of the process. */
  trustCertificates: (pem: string) => void
}

/** The Action's words for a setting: "the path input", "allow-insecure-http: true". */
export const actionSetting = (name: string, value?: string) => (value === undefined ? `the ${name} input` : `${name}: ${value}`)

/** Text the Action writes (an output, the summary): every setting named as an input, every secret
 *  masked. */
export const actionText = (secrets: Secrets) => (text: string) => secrets.mask(renderSettings(text, actionSetting))

/** A line the Action logs: its text, and no workflow command whatever it quotes (commandFree). */
export const actionLine = (secrets: Secrets) => (text: string) => commandFree(actionText(secrets)(text))

/** The names main saves its state under (core.saveState), for the post step to read. */
export const POST_STATE = { orderName: 'order-name', cancelOnTimeout: 'cancel-on-timeout', settled: 'order-settled' } as const

export function defaultStepDeps(): StepDeps {
  return {
    core,
    env: process.env,
    clock: systemClock,
    readFile: file => readFileSync(file, 'utf8'),
    realpath: file => realpathSync(file),
    trustCertificates: pem => tls.setDefaultCACertificates([...tls.getCACertificates('default'), pem])
  }
}

/** The step's secrets: each spelling is registered with the runner (which masks only the exact
 *  string) as it is added, and mask() hides them in what the step writes itself (outputs, summary). */
export function stepSecrets(core: Pick<ActionCore, 'setSecret'>): Secrets & { register(value: string | undefined): void } {
  const secrets = new Secrets()
  return Object.assign(secrets, { register: (value: string | undefined) => secrets.add(value).forEach(s => core.setSecret(s)) })
}

/** Untrimmed: a password may begin or end with spaces; the readers trim every other input. */
export const untrimmedInputs = (core: Pick<ActionCore, 'getInput'>) => (name: string) => core.getInput(name, { trimWhitespace: false })

/** The connection's inputs, every secret registered before anything prints, the extra CAs trusted. */
export function readStepConnection(deps: StepDeps, secrets: ReturnType<typeof stepSecrets>): ConnectionInputs {
  const getInput = untrimmedInputs(deps.core)
  for (const secret of [getInput('password'), getInput('token').trim(), getInput('github-token').trim()]) secrets.register(secret)
  const connection = readConnection(getInput, { env: deps.env, readFile: deps.readFile, realpath: deps.realpath })
  secrets.register(connection.clientSecret)
  if (connection.caCertificates) deps.trustCertificates(connection.caCertificates)
  return connection
}

