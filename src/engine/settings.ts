// What an export needs, whatever the front end: the Action reads it from its inputs, the command line
// from its options and environment. Names follow action.yml's inputs.
import type { ExportContents } from '../../protocol/protocol.js'
import type { GateCheck } from './evidence/gate.js'

export interface ExportSettings {
  /** Base URL without a trailing slash. */
  serverUrl: string
  /** Empty when signing in with an access token. */
  username: string
  password: string
  clientId: string
  clientSecret: string
  /** A user access token made in the AdminClient: signs in instead of username and password. */
  accessToken?: string
  /** The order to place; absent when resuming an existing order (orderName). */
  exportContents?: ExportContents
  orderName?: string
  /** One deadline for the whole run, the front end's finishing work included. */
  timeoutMs: number
  maxPollIntervalMs: number
  cancelOnTimeout: boolean
  /** Absolute directory the ZIP is written to. */
  path: string
  extract: boolean
  /** The ZIP's file name without .zip; default octoplant-export-<order name>. */
  artifactName?: string
  insecureSkipTlsVerify: boolean
  /** A previous export's ZIP or record (absolute path) to report the changes against. */
  compareWith?: string
  /** Deviations that fail the run once the evidence is kept. */
  failOn: GateCheck[]
}

/** What a connection to the server needs of the settings (the post step's cancel has no more). */
export type ConnectionSettings = Pick<ExportSettings, 'serverUrl' | 'username' | 'password' | 'clientId' | 'clientSecret' | 'accessToken' | 'insecureSkipTlsVerify'>

/** A setting is wrong; `input` is its name as action.yml spells it, for the front end to render
 *  ("Input 'path' …" in the Action, "--path (or OCTOPLANT_PATH) …" in the command). */
export class InputError extends Error {
  constructor(
    readonly input: string,
    readonly problem: string
  ) {
    super(`${input} ${problem}`)
    this.name = 'InputError'
  }
}
