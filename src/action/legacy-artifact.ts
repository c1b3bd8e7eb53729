// Artifacts on GitHub Enterprise Server, whose runners still speak the legacy artifact service that
// actions/upload-artifact@v3 uses: through the maintained @actions/artifact 1.x (installed beside the
// current client as @actions/artifact-legacy, loaded only here). It appends files to a container of
// the same name instead of refusing it, so a name already taken in this run is refused here first,
// with the same words as github.com's conflict.
import * as path from 'node:path'
import { HttpClient } from '@actions/http-client'
import { systemClock } from '../base/clock.js'
import { withRetries } from '../base/retry.js'

type Env = Record<string, string | undefined>

/** What the legacy client needs from the runner, or why it cannot work here. */
export function legacyServiceMissing(env: Env): string | undefined {
  const missing = ['ACTIONS_RUNTIME_URL', 'ACTIONS_RUNTIME_TOKEN', 'GITHUB_RUN_ID'].filter(v => !env[v])
  if (!missing.length) return undefined
  return `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: this runner offers no artifact service. On GitHub Enterprise Server the site administrator must enable Actions storage (Management Console, "Actions" → artifact and log storage); runners set these variables once it is`
}

class ServiceAnswer extends Error {
  constructor(readonly status: number) {
    super(`Listing this run's artifacts failed: Artifact service responded with ${status}`)
  }
}

/** The service's list of this run's artifacts (GET on the run's artifacts); a 429, a 5xx or a broken
 *  connection is tried again under the project's one retry policy, as the 1.x client retries its own
 *  calls. */
function artifactsOfThisRun(env: Env): Promise<string[]> {
  const http = new HttpClient('octoplant-export-action')
  const url = `${env.ACTIONS_RUNTIME_URL}_apis/pipelines/workflows/${env.GITHUB_RUN_ID}/artifacts?api-version=6.0-preview`
  const list = async () => {
    const response = await http.get(url, { authorization: `Bearer ${env.ACTIONS_RUNTIME_TOKEN}`, accept: 'application/json;api-version=6.0-preview' })
    const text = await response.readBody()
    const status = response.message.statusCode ?? 0
    if (status < 200 || status > 299) throw new ServiceAnswer(status)
    return ((JSON.parse(text) as { value?: { name: string }[] }).value ?? []).map(a => a.name)
  }
  const transient = (e: unknown) => !(e instanceof ServiceAnswer) || e.status === 429 || e.status >= 500
  return withRetries(list, { clock: systemClock, retryAfter: e => (transient(e) ? { atLeastMs: 0 } : undefined) })
}

/** The legacy client, shaped as the Action's artifact client (artifact.ts's ArtifactClientLike). */
export class LegacyArtifactClient {
  readonly service = 'GitHub Enterprise Server artifact storage (the service of upload-artifact@v3, through @actions/artifact 1.x)'

  constructor(private readonly env: Env) {}

  async uploadArtifact(name: string, files: string[], rootDirectory: string, options?: { retentionDays?: number }): Promise<{ size?: number }> {
    const missing = legacyServiceMissing(this.env)
    if (missing) throw new Error(missing)
    if ((await artifactsOfThisRun(this.env)).includes(name)) throw new Error(`(409) an artifact named ${name} already exists in this run`)
    const legacy = await import('@actions/artifact-legacy')
    const result = await legacy.create().uploadArtifact(name, files, rootDirectory, { continueOnError: false, retentionDays: options?.retentionDays })
    if (result.failedItems.length) {
      throw new Error(`the artifact service did not take ${result.failedItems.map(f => path.basename(f)).join(', ')} (its retries are used up)`)
    }
    return { size: result.size }
  }
}

/** A failure of the legacy service in words that say who can fix it. */
export function explainLegacyFailure(message: string): string {
  // The 1.x client's own words for a 403 end in "to ensure Actions storage is configured correctly".
  if (/\b403\b|Forbidden|Actions storage is configured/i.test(message)) {
    return `the artifact service refused the upload (403): on GitHub Enterprise Server that means Actions storage is not set up, or its quota is used up; the site administrator must enable it (Management Console, "Actions" → artifact and log storage). [${message}]`
  }
  if (/\b401\b/.test(message)) return `the artifact service refused this job's token (401): the runner's ACTIONS_RUNTIME_TOKEN was not accepted. [${message}]`
  return message
}
