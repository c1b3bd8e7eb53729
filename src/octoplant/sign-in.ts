// The two ways of signing in, each giving the session token that goes out as Bearer:
// - the OAuth2 password grant (username and password), renewed with the refresh grant when the
//   server issued a refresh token;
// - a user access token made in the AdminClient, exchanged at authenticate_token (a bare JSON
//   string in, {token, userId, refreshToken} out) and renewed at refresh_token. Where the exchange
//   route does not exist (404, or 501 / UNIMPLEMENTED), the access token itself is the Bearer token:
//   whether the export routes take it directly is not documented, so both are accepted.
import { API_PATHS, GrpcCode, type SessionTokenAnswer } from '../../protocol/protocol.js'
import { OctoplantError, type Transport } from './request.js'
import { setting } from '../base/setting-ref.js'

export type Credentials =
  | { username: string; password: string; clientId: string; clientSecret: string; accessToken?: undefined }
  | { accessToken: string; username?: string; password?: undefined; clientId?: string; clientSecret?: string }

/** A token to send, and the clock time to renew it before it expires (Infinity: not known). */
export interface Session {
  token: string
  renewAt: number
}

/** The server refused the credentials; retrying will not help. */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AuthenticationError'
  }
}

export interface SignInDeps {
  transport: Transport
  /** Called with every token, before it is used or sent (the front ends mask them). */
  onSecret: (value: string) => void
  now?: () => number
}

export interface SignIn {
  /** How the run signed in, once it has: for the log, the check and the job summary. */
  readonly way: string | undefined
  /** A session: the first, or a fresh one after a 401 or before the last expires. */
  session(signal?: AbortSignal): Promise<Session>
}

export function signInWith(credentials: Credentials, deps: SignInDeps): SignIn {
  return credentials.accessToken !== undefined ? new AccessTokenSignIn(credentials.accessToken, deps) : new PasswordSignIn(credentials, deps)
}

/** Renew a token this long before the server said it expires (half its lifetime when shorter). */
const RENEW_MARGIN_MS = 30_000

interface TokenResponse {
  access_token?: unknown
  refresh_token?: unknown
  expires_in?: unknown
}

class PasswordSignIn implements SignIn {
  way: string | undefined
  private refreshToken: string | undefined

  constructor(
    private readonly credentials: Extract<Credentials, { password: string }>,
    private readonly deps: SignInDeps
  ) {}

  /** The refresh grant when the server issued a refresh token, else the password grant. */
  async session(signal?: AbortSignal): Promise<Session> {
    const { username, password, clientId, clientSecret } = this.credentials
    const client = { client_id: clientId, client_secret: clientSecret }
    let answer: TokenResponse | undefined
    if (this.refreshToken) answer = await this.grant({ grant_type: 'refresh_token', refresh_token: this.refreshToken, ...client }, signal).catch(() => undefined)
    try {
      answer ??= await this.grant({ grant_type: 'password', username, password, ...client }, signal)
    } catch (e) {
      throw refusal(e, why =>
        new AuthenticationError(
          `octoplant refused to sign in user "${username}" (${why}). ` +
            `Check ${setting('username')} and ${setting('password')} (a domain account is DOMAIN\\user) and, if you changed them, ${setting('client-id')} and ${setting('client-secret')}.`
        )
      )
    }
    if (typeof answer.access_token !== 'string' || answer.access_token === '') {
      throw new OctoplantError('the token endpoint answered without an access_token', 200, undefined, false)
    }
    this.deps.onSecret(answer.access_token)
    if (typeof answer.refresh_token === 'string' && answer.refresh_token) {
      this.deps.onSecret(answer.refresh_token)
      this.refreshToken = answer.refresh_token
    }
    this.way = `user "${username}" and password`
    return { token: answer.access_token, renewAt: renewAt(Number(answer.expires_in) * 1000, this.deps.now) }
  }

  private grant(form: Record<string, string>, signal?: AbortSignal): Promise<TokenResponse> {
    // Asking for a token twice is harmless: the call may be repeated.
    return this.deps.transport.json<TokenResponse>({ method: 'POST', path: API_PATHS.token, form, idempotent: true, signal })
  }
}

class AccessTokenSignIn implements SignIn {
  way: string | undefined
  private refreshToken: string | undefined
  /** The exchange route is missing: the access token itself is sent. */
  private asBearer = false
  private signedIn = false

  constructor(
    private readonly accessToken: string,
    private readonly deps: SignInDeps
  ) {
    deps.onSecret(accessToken)
  }

  /** The first session by exchange; later ones by refresh token, else by exchanging again. */
  async session(signal?: AbortSignal): Promise<Session> {
    if (this.asBearer) {
      if (this.signedIn) throw this.refused('the server answered UNAUTHENTICATED when it was sent as Bearer')
      this.signedIn = true
      return { token: this.accessToken, renewAt: Infinity }
    }
    if (this.refreshToken) {
      const renewed = await this.call(API_PATHS.refreshToken, this.refreshToken, signal).catch(() => undefined)
      if (renewed) return this.take(renewed)
    }
    try {
      const answer = await this.call(API_PATHS.authenticateToken, this.accessToken, signal)
      this.way = 'access token, exchanged for a session token'
      return this.take(answer)
    } catch (e) {
      if (!this.signedIn && exchangeMissing(e)) {
        this.asBearer = true
        this.way = 'access token, sent as Bearer (the server has no token exchange)'
        return this.session(signal)
      }
      throw refusal(e, why => this.refused(why))
    }
  }

  private call(path: string, token: string, signal?: AbortSignal): Promise<SessionTokenAnswer> {
    // The body is the token as a bare JSON string; exchanging again is harmless.
    return this.deps.transport.json<SessionTokenAnswer>({ method: 'POST', path, json: token, idempotent: true, signal })
  }

  private take(answer: SessionTokenAnswer): Session {
    if (typeof answer.token !== 'string' || answer.token === '') throw new OctoplantError('the token exchange answered without a token', 200, undefined, false)
    this.deps.onSecret(answer.token)
    if (typeof answer.refreshToken === 'string' && answer.refreshToken) {
      this.deps.onSecret(answer.refreshToken)
      this.refreshToken = answer.refreshToken
    }
    this.signedIn = true
    return { token: answer.token, renewAt: Infinity }
  }

  private refused(why: string): AuthenticationError {
    return new AuthenticationError(
      `octoplant refused the access token (${why}): it may have expired or been revoked. ` +
        `Make a new one in the AdminClient for the CI user and put it in ${setting('token')}.`
    )
  }
}

/** A 404 (no such route) or 501 / UNIMPLEMENTED from the exchange: an older server. */
function exchangeMissing(e: unknown): boolean {
  return e instanceof OctoplantError && (e.httpStatus === 404 || e.httpStatus === 501 || e.grpcCode === GrpcCode.UNIMPLEMENTED)
}

/** The sign-in's failure in words: no API at the address, a refusal (400, 401, 403), or as it came. */
function refusal(e: unknown, refused: (why: string) => Error): unknown {
  if (e instanceof OctoplantError && e.httpStatus === 404) {
    return new OctoplantError(
      `the server at ${setting('server-url')} answered, but has no octoplant API at that address: check it (octoplant's API listens on port 64023 by default; ` +
        `behind a reverse proxy, the address needs the proxy's path prefix, e.g. https://host/octoplant) [${e.message}]`,
      404,
      e.grpcCode,
      false
    )
  }
  if (e instanceof OctoplantError && [400, 401, 403].includes(e.httpStatus)) return refused(e.message.replace(/^POST \S+ failed: /, ''))
  return e
}

function renewAt(lifetimeMs: number, now: (() => number) | undefined): number {
  if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0 || !now) return Infinity
  return now() + lifetimeMs - Math.min(RENEW_MARGIN_MS, lifetimeMs / 2)
}
