// The settings that reach the server: its address, the sign-in, the client, and TLS. Read here for
// both front ends and both of the Action's steps (the post step needs nothing else, so it carries no
// YAML and no export schema). Pure: the input getter, the environment and the file reader are
// passed in. A bad input throws an InputError naming the input and the fix.
import { X509Certificate } from 'node:crypto'
import * as path from 'node:path'
import { PUBLIC_CLIENT_ID, PUBLIC_CLIENT_SECRET } from '../../protocol/protocol.js'
import { InputError } from '../engine/settings.js'
import { setting } from '../base/setting-ref.js'

/** Defaults when an input is empty; action.yml states the same values (a test keeps them equal). */
export const DEFAULTS = {
  'client-id': PUBLIC_CLIENT_ID,
  'client-secret': PUBLIC_CLIENT_SECRET,
  'export-contents': '{"projectTree": {}}',
  timeout: '30m',
  'max-poll-interval': '30s',
  'cancel-on-timeout': 'true',
  extract: 'false',
  'upload-artifact': 'true',
  'insecure-skip-tls-verify': 'false',
  'allow-insecure-http': 'false',
  'compare-with-previous': 'false'
} as const

export interface InputContext {
  env: Record<string, string | undefined>
  readFile: (file: string) => string
  /** Resolves links, so that order-file cannot point out of the workspace through one. */
  realpath?: (file: string) => string
  /** Path rules of the runner's platform (node:path by default; tests pass path.win32). */
  path?: typeof path.posix
  /** Whether a path names a readable file (default: fs.statSync). */
  isFile?: (file: string) => boolean
  /** The folder an empty or blank path means (default: <RUNNER_TEMP>/octoplant-export). */
  defaultPath?: string
}

/** An input, trimmed, or its default when empty. */
export function withDefaults(getInput: (name: string) => string): (name: string) => string {
  return name => {
    const v = getInput(name).trim()
    return v !== '' ? v : ((DEFAULTS as Record<string, string>)[name] ?? '')
  }
}

/** What the connection to the server needs. */
export interface ConnectionInputs {
  serverUrl: string
  username: string
  password: string
  accessToken?: string
  clientId: string
  clientSecret: string
  /** PEM text of extra CA certificates to trust. */
  caCertificates?: string
  insecureSkipTlsVerify: boolean
  allowInsecureHttp: boolean
}

export function readConnection(getInput: (name: string) => string, ctx: InputContext): ConnectionInputs {
  const get = withDefaults(getInput)
  const workspace = ctx.env.GITHUB_WORKSPACE || process.cwd()
  const serverText = get('server-url')
  if (serverText === '') throw new InputError('server-url', 'is required: set it to the octoplant API address, e.g. https://octoplant.plant.local:64023')
  const allowInsecureHttp = bool(get, 'allow-insecure-http')
  return {
    serverUrl: parseServerUrl(serverText, allowInsecureHttp),
    ...readSignIn(getInput, get),
    clientId: get('client-id'),
    clientSecret: get('client-secret'),
    caCertificates: readCaCertificates(get('ca-certificate'), ctx, workspace),
    insecureSkipTlsVerify: bool(get, 'insecure-skip-tls-verify'),
    allowInsecureHttp
  }
}

/** An access token, or a user name and password: one way of signing in, never both. */
function readSignIn(getInput: (name: string) => string, get: (name: string) => string) {
  const accessToken = get('token') || undefined
  // Passwords may begin or end with spaces: take this one untrimmed.
  const password = getInput('password')
  // A header cannot carry a line break, and no password holds one: a file with two lines is a mistake.
  for (const [name, value] of [['token', accessToken], ['password', password]] as const) {
    if (value && /[\r\n]/.test(value)) throw new InputError(name, `holds a line break inside it: give the ${name} alone, on one line`)
  }
  if (accessToken && password) {
    throw new InputError('token', `and ${setting('password')} are both set: sign in with one of them (the token is the one to keep; remove the password)`)
  }
  if (accessToken) return { username: get('username'), password: '', accessToken }
  const username = get('username')
  if (username === '') {
    throw new InputError('username', `is required without ${setting('token')}: set ${setting('token')} to a user access token (recommended), or the octoplant user the export runs as (DOMAIN\\user for a Windows domain) and its password`)
  }
  if (password === '') throw new InputError('password', `is required with ${setting('username')}: pass it from a secret, or sign in with ${setting('token')} instead`)
  return { username, password, accessToken }
}

function parseServerUrl(text: string, allowInsecureHttp: boolean): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new InputError('server-url', `must be a URL such as https://octoplant.plant.local:64023; got "${text}"`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InputError('server-url', `must start with https:// (or http://); got "${url.protocol}"`)
  }
  if (url.username || url.password) {
    throw new InputError('server-url', `must not contain credentials: pass them as ${setting('username')} and ${setting('password')}`)
  }
  if (url.search || url.hash) {
    throw new InputError('server-url', `must be the API's base address without a query or fragment; got "${text}"`)
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && !allowInsecureHttp) {
    throw new InputError(
      'server-url',
      `uses plain http:// to ${url.hostname}, which would send the password unencrypted: use https:// (octoplant serves TLS on port 64023), or set ${setting('allow-insecure-http', 'true')} if you accept the risk`
    )
  }
  return url.href.replace(/\/+$/, '')
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h)
}

function readCaCertificates(value: string, ctx: InputContext, workspace: string): string | undefined {
  if (value === '') return undefined
  const pem = value.includes('-----BEGIN') ? value : readText('ca-certificate', value, ctx, workspace)
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)
  if (!blocks) {
    throw new InputError('ca-certificate', 'holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the PEM text of the CA, or the path to a PEM file')
  }
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block)
    } catch (e) {
      throw new InputError('ca-certificate', `certificate ${i + 1} of ${blocks.length} cannot be read: ${(e as Error).message}`)
    }
  }
  return blocks.join('\n') + '\n'
}

export function readText(input: string, file: string, ctx: InputContext, workspace: string): string {
  const resolved = (ctx.path ?? path).resolve(workspace, file)
  try {
    return ctx.readFile(resolved)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new InputError(input, `names a file that cannot be read (${code ?? (e as Error).message}): ${resolved}`)
  }
}

export function bool(get: (name: string) => string, name: string): boolean {
  const v = get(name)
  if (['true', 'True', 'TRUE'].includes(v)) return true
  if (['false', 'False', 'FALSE'].includes(v)) return false
  throw new InputError(name, `must be true or false; got "${v}"`)
}

