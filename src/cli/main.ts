// `octoplant-export`: the command-line front end around the export engine, for GitLab, Jenkins,
// Azure DevOps or a shell. Options mirror the Action's inputs (same names and meanings), each also
// read from an OCTOPLANT_* environment variable; the secrets only from OCTOPLANT_TOKEN or
// --token-file, OCTOPLANT_PASSWORD or --password-file. Human progress goes to stderr; stdout carries
// exactly one JSON document with the Action's output names as keys, also on failure. Exit codes: 0
// success, 1 the export (or check) failed, 2 bad usage or input (refused before any connection),
// 3 --fail-on found a deviation (the export and its evidence are kept).
import { parseArgs, styleText } from 'node:util'
import type { Clock } from '../base/clock.js'
import { checkServer } from '../engine/check.js'
import { CancelledError, type ExportHost, runExport } from '../engine/export.js'
import { describeMaintenance, describeVersions } from '../engine/preflight.js'
import { InputError } from '../engine/settings.js'
import { Secrets } from '../base/secrets.js'
import { commandFree } from '../base/untrusted.js'
import { ACTION_ONLY, DEFAULTS, type Inputs, parseInputs } from '../shared/inputs.js'
import { checkBeforeConnecting } from '../shared/before-connecting.js'
import { runtimeProblem } from '../shared/runtime.js'
import { commandOrigin } from '../shared/origin.js'
import { exportOutputs, OUTPUTS } from '../shared/outputs.js'
import { EVIDENCE_FILES } from '../engine/evidence/files.js'
import { StatusLine, type Terminal } from './status-line.js'
import { renderAll, renderSettings } from '../base/setting-ref.js'

export interface CliDeps {
  argv: string[]
  env: Record<string, string | undefined>
  cwd: string
  stdout: (text: string) => void
  stderr: (text: string) => void
  readFile: (file: string) => string
  realpath?: (file: string) => string
  clock: Clock
  /** Adds PEM certificates to the trust store of every TLS connection of the process. */
  trustCertificates: (pem: string) => void
  /** Aborts on Ctrl-C or SIGTERM: the order is cancelled as the Action does. */
  signal?: AbortSignal
  /** Aborts on a second Ctrl-C: the run stops waiting for the cancel and still prints its JSON. */
  hurry?: AbortSignal
  version: string
  /** Present when stderr is a terminal: a live status line is drawn there. */
  terminal?: Terminal
  /** This machine, for the export record when no CI system is recognised. */
  host: { hostname: string; user?: string }
  /** The Node.js version running the command (process.versions.node). */
  nodeVersion: string
  /** How this copy was built, when not as the npm package ("single executable, Node 24.21.0"). */
  build?: string
}

/** The Action's inputs that the command line takes, with what they mean here. */
const STRING_OPTIONS = {
  'server-url': 'octoplant API address, e.g. https://octoplant.plant.local:64023',
  username: 'octoplant user the export runs as (DOMAIN\\user for a Windows domain)',
  'client-id': 'OAuth2 client id (default: the vendor\'s public-api)',
  'client-secret': 'OAuth2 client secret (default: the vendor\'s published one)',
  'export-contents': 'what to export, JSON or YAML',
  'order-file': 'a JSON or YAML file with the export contents, inside the current folder',
  'order-name': 'fetch this existing order instead of placing a new one',
  timeout: 'one deadline for the whole run, e.g. 90s, 15m, 1h30m (at most 24d)',
  'max-poll-interval': 'longest gap between two polls',
  path: 'folder the ZIP is written to (default ./octoplant-export)',
  'artifact-name': 'the ZIP\'s file name without .zip (default octoplant-export-<order name>)',
  'ca-certificate': 'PEM text or file of a CA (or the server\'s self-signed certificate) to trust',
  'compare-with': 'a previous export\'s ZIP or .record.json: report what changed since (changes-path)',
  'fail-on': 'exit 3 (evidence kept) on: unequal-job-results, changes (a comma list)'
} as const
const BOOLEAN_OPTIONS = {
  'cancel-on-timeout': 'cancel the order on the server when giving up (--no-cancel-on-timeout)',
  extract: 'also unpack the ZIP into <path>/<order name>/',
  'insecure-skip-tls-verify': 'do not check the server certificate (warns; use --ca-certificate instead)',
  'allow-insecure-http': 'allow http:// to hosts other than loopback (the password crosses unencrypted)'
} as const

/** OCTOPLANT_SERVER_URL for server-url. */
export const envName = (option: string) => `OCTOPLANT_${option.toUpperCase().replace(/-/g, '_')}`

/** The command's words for a setting, in a syntax it accepts: "--order-name X", "--no-extract",
 *  and the password by the two ways it is taken; nothing for a setting only the Action has. */
export function cliSetting(name: string, value?: string): string {
  if ((ACTION_ONLY as readonly string[]).includes(name)) return ''
  if (name === 'password' || name === 'token') return `${envName(name)} (or --${name}-file)`
  if (name in BOOLEAN_OPTIONS && value !== undefined) return value === 'false' ? `--no-${name}` : `--${name}`
  return value === undefined ? `--${name}` : `--${name} ${value}`
}

export function usage(version: string): string {
  // Defaults come from the one table the Action's inputs also use (DEFAULTS; action.yml is tested
  // against it); the two client defaults are named, not printed.
  const shown = (name: string) => (name in DEFAULTS && !name.startsWith('client-') ? `; default ${(DEFAULTS as Record<string, string>)[name]}` : '')
  const line = (name: string, text: string) => `  --${name.padEnd(26)} ${text}\n${' '.repeat(31)}(env ${envName(name)}${shown(name)})`
  return [
    `octoplant-export ${version}: export from an octoplant server, verify the ZIP, keep it on disk.`,
    '',
    'Usage:',
    '  octoplant-export [options]          place an export (or fetch --order-name), wait, download, verify',
    '  octoplant-export check [options]    sign in, read the server version and maintenance mode, check',
    '                                      the export contents, then stop (a dry run)',
    '',
    'Options (each also from the environment variable shown):',
    ...Object.entries(STRING_OPTIONS).map(([n, t]) => line(n, t)),
    ...Object.entries(BOOLEAN_OPTIONS).map(([n, t]) => line(n, t)),
    'Signing in (never an argument: process lists show arguments):',
    '  --token-file FILE            a file holding a user access token made in the AdminClient (the',
    '                               recommended way); or set OCTOPLANT_TOKEN. Needs no --username.',
    '  --password-file FILE         a file holding the password of --username; or set OCTOPLANT_PASSWORD.',
    '  --verbose                    debug lines on stderr too (env OCTOPLANT_VERBOSE=true)',
    '  --quiet                      only errors on stderr (env OCTOPLANT_QUIET=true); the JSON as always',
    '  --help, --version',
    '',
    'Output: progress on stderr; on stdout one JSON document with the keys of the GitHub Action\'s',
    `outputs (${[OUTPUTS.orderName, OUTPUTS.state, OUTPUTS.zipPath, OUTPUTS.zipSize, OUTPUTS.zipSha256, OUTPUTS.extractPath, OUTPUTS.errorMessage].join(', ')}),`,
    `also on failure; and the evidence (${[...EVIDENCE_FILES.map(f => f.output), OUTPUTS.entriesAdded, OUTPUTS.entriesRemoved, OUTPUTS.entriesChanged, OUTPUTS.unequalJobResults].join(', ')}).`,
    'Exit codes: 0 success, 1 the export failed or timed out, 2 bad usage or input (refused before any',
    'connection), 3 --fail-on found a deviation (the ZIP and its evidence are kept). Ctrl-C or SIGTERM',
    'cancels the order on the server, prints the JSON and exits 130 or 143; a second Ctrl-C stops',
    'waiting for the cancel.',
    'At a terminal, one status line shows the state, the time waited and the download; NO_COLOR is honoured.',
    ''
  ].join('\n')
}

export async function main(deps: CliDeps): Promise<number> {
  const out = new Output(deps)
  let args: ReturnType<typeof parse>
  try {
    args = parse(deps.argv)
  } catch (e) {
    out.log(`octoplant-export: ${(e as Error).message}\nRun octoplant-export --help for the options.`)
    out.print({ [OUTPUTS.errorMessage]: (e as Error).message })
    return 2
  }
  if (args.values.help || args.values.version) {
    deps.stdout(args.values.help ? usage(deps.version) : `${deps.version}${deps.build ? ` (${deps.build})` : ''}\n`)
    return 0
  }
  const command = args.positionals[0] ?? 'export'
  const runtime = runtimeProblem(deps.nodeVersion)
  if (runtime) {
    out.log(`octoplant-export: ${runtime}`)
    out.print({ [OUTPUTS.errorMessage]: runtime })
    return 2
  }
  let inputs: Inputs
  try {
    inputs = await readSettings(args, command, deps, out)
  } catch (e) {
    const message = e instanceof InputError ? `${optionWords(e.input)} ${e.problem}` : (e as Error).message
    out.log(`octoplant-export: ${message}`)
    out.print({ [OUTPUTS.errorMessage]: message })
    return 2
  }
  const quiet = args.values.quiet === true || deps.env.OCTOPLANT_QUIET === 'true'
  const verbose = !quiet && (args.values.verbose === true || deps.env.OCTOPLANT_VERBOSE === 'true')
  if (!quiet && deps.terminal) out.status = new StatusLine(deps.terminal, deps.clock)
  const logger = {
    debug: (m: string) => void (verbose && out.log(`debug: ${m}`)),
    info: (m: string) => void (!quiet && out.log(m)),
    warning: (m: string) => void (!quiet && out.log(m, 'warning')),
    secret: (v: string) => out.secret(v)
  }
  if (inputs.insecureSkipTlsVerify) logger.warning('--insecure-skip-tls-verify: the server certificate is NOT checked; use --ca-certificate instead.')
  if (inputs.serverUrl.startsWith('http://')) logger.warning('the server URL uses plain http://: the password crosses the network unencrypted.')
  return command === 'check' ? runCheck(inputs, logger, deps, out) : runExportCommand(inputs, logger, deps, out)
}

/** Everything the command writes passes here: secrets never leave in any spelling, however short,
 *  nor does a line that a CI system would run as a command, nor a terminal escape. */
class Output {
  private readonly secrets = new Secrets()
  /** The live line at a terminal, unless --quiet. */
  status?: StatusLine
  private readonly color: boolean

  constructor(private readonly deps: Pick<CliDeps, 'stdout' | 'stderr' | 'terminal' | 'env'>) {
    // https://no-color.org: any value but the empty one turns colour off.
    this.color = !!deps.terminal && !deps.env.NO_COLOR
  }

  secret(value: string): void {
    this.secrets.add(value)
  }

  /** A line on stderr; `label` ("warning:", "error:") is coloured at a terminal. */
  log(text: string, label?: 'warning' | 'error'): void {
    const prefix = label ? `${this.paint(label === 'error' ? 'red' : 'yellow', `${label}:`)} ` : ''
    const line = `${prefix}${this.clean(text)}\n`
    if (this.status) this.status.log(line)
    else this.deps.stderr(line)
  }

  /** A final line: the status line is cleared first, for good. */
  error(text: string): void {
    this.status?.clear()
    this.status = undefined
    this.log(text, 'error')
  }

  print(value: unknown): void {
    this.status?.clear()
    this.status = undefined
    // Settings spelled and secrets masked value by value, so that a short secret cannot break the
    // document's keys.
    this.deps.stdout(`${commandFree(JSON.stringify(this.secrets.maskValues(renderAll(value, cliSetting)), null, 2))}\n`)
  }

  private paint(color: 'red' | 'yellow', text: string): string {
    return this.color ? styleText(color, text, { validateStream: false }) : text
  }

  private clean(text: string): string {
    return commandFree(this.secrets.mask(renderSettings(text, cliSetting)))
  }
}

/** Settings: option, else environment variable, else the Action's default; all checked before any
 *  connection. */
async function readSettings(args: ReturnType<typeof parse>, command: string, deps: CliDeps, out: Output): Promise<Inputs> {
  if (args.positionals.length > 1 || !['export', 'check'].includes(command)) {
    throw new Error(`unknown command "${args.positionals.join(' ')}": use no command (export) or check`)
  }
  const password = readSecret('password', args.values['password-file'], deps)
  const token = readSecret('token', args.values['token-file'], deps)
  out.secret(password)
  out.secret(token)
  const getInput = (name: string): string => {
    if (name === 'password') return password
    if (name === 'token') return token
    if ((ACTION_ONLY as readonly string[]).includes(name)) return ''
    const value = (args.values as Record<string, string | boolean | undefined>)[name]
    if (value !== undefined) return String(value)
    return deps.env[envName(name)] ?? ''
  }
  // The current folder stands where the Action has its workspace (order-file must lie inside it);
  // an empty or blank --path means ./octoplant-export there, as documented.
  const inputs = parseInputs(getInput, {
    env: { GITHUB_WORKSPACE: deps.cwd, TMPDIR: deps.env.TMPDIR },
    readFile: deps.readFile,
    realpath: deps.realpath,
    defaultPath: 'octoplant-export'
  })
  out.secret(inputs.clientSecret)
  if (inputs.caCertificates) deps.trustCertificates(inputs.caCertificates)
  if (command === 'export') await checkBeforeConnecting(inputs, m => out.log(m, 'warning'))
  return inputs
}

type CliLogger = Parameters<typeof checkServer>[1]

async function runCheck(inputs: Inputs, logger: CliLogger, deps: CliDeps, out: Output): Promise<number> {
  const checked = await checkServer(inputs, logger, { clock: deps.clock, signal: deps.signal })
  const info = checked.serverInfo
  out.print({
    server: checked.server,
    'signed-in': checked.signedIn,
    ...(checked.signedInWith ? { 'signed-in-with': checked.signedInWith } : {}),
    ...(info && describeVersions(info) ? { 'server-version': describeVersions(info) } : {}),
    ...(info ? { 'maintenance-mode': info.maintenance ? describeMaintenance(info.maintenance) : 'off or not readable' } : {}),
    'export-contents': inputs.exportContents ?? null,
    ...(checked.error ? { [OUTPUTS.errorMessage]: checked.error } : {})
  })
  if (checked.error) out.error(checked.error)
  else logger.info(`Ready to export from ${inputs.serverUrl}.`)
  return checked.error ? 1 : 0
}

async function runExportCommand(inputs: Inputs, logger: CliLogger, deps: CliDeps, out: Output): Promise<number> {
  logger.info(`octoplant ${inputs.orderName ? `order ${inputs.orderName}` : 'export'} at ${inputs.serverUrl}`)
  const host: ExportHost = {
    ...logger,
    orderNamed: () => undefined,
    stateChanged: () => undefined,
    zipSaved: () => undefined,
    extracted: () => undefined,
    progress: out.status && (p => out.status?.update(p))
  }
  const provenance = { tool: { name: 'octoplant-export', version: deps.version }, ranBy: commandOrigin(deps.env, deps.host) }
  const report = await runExport(inputs, host, { clock: deps.clock, signal: deps.signal, hurry: deps.hurry, provenance })
  out.print(exportOutputs(report))
  if (report.error) out.error(report.error)
  else if (report.gateFailure) out.error(report.gateFailure)
  // Interrupted: the shell's code for the signal (130 for Ctrl-C), after the JSON.
  const reason: unknown = deps.signal?.reason
  if (report.error && reason instanceof CancelledError) return reason.signal === 'SIGINT' ? 130 : 143
  return report.error ? 1 : report.gateFailure ? 3 : 0
}

/** An option as a refusal names it: with its environment variable where it has one. */
function optionWords(input: string): string {
  if (input === 'password' || input === 'token') return envName(input)
  if (input === 'password-file' || input === 'token-file') return `--${input}`
  return `--${input} (or ${envName(input)})`
}

function parse(argv: string[]) {
  for (const secret of ['password', 'token']) {
    if (argv.some(a => a === `--${secret}` || a.startsWith(`--${secret}=`))) {
      throw new Error(`--${secret} is not taken: process lists show arguments. Set ${envName(secret)}, or pass --${secret}-file FILE`)
    }
  }
  return parseArgs({
    args: argv,
    allowPositionals: true,
    allowNegative: true,
    strict: true,
    options: {
      ...Object.fromEntries(Object.keys(STRING_OPTIONS).map(n => [n, { type: 'string' as const }])),
      ...Object.fromEntries(Object.keys(BOOLEAN_OPTIONS).map(n => [n, { type: 'boolean' as const }])),
      'password-file': { type: 'string' },
      'token-file': { type: 'string' },
      verbose: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' }
    }
  })
}

/** A secret from its variable or its file (the file's text without its final line break). */
function readSecret(name: 'password' | 'token', file: string | undefined, deps: CliDeps): string {
  if (file) {
    try {
      return deps.readFile(file).replace(/\r?\n$/, '')
    } catch (e) {
      throw new InputError(`${name}-file`, `cannot be read: ${(e as Error).message}`)
    }
  }
  return deps.env[envName(name)] ?? ''
}
