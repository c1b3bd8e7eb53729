// Uploads the verified ZIP, and each file of its evidence, as a workflow artifact, as is (skipArchive:
// no second ZIP around it; the artifact takes the file's name). On GitHub Enterprise Server, whose
// runners have only the legacy artifact service, through legacy-artifact.ts: there each artifact is
// a container holding the one file, which download-artifact@v3 unpacks under the same name.
// The artifact clients are loaded only when an upload will happen: importing one costs much memory
// and time (BENCHMARKS.md).
import * as path from 'node:path'
import { explainLegacyFailure, LegacyArtifactClient } from './legacy-artifact.js'

export interface UploadResult {
  name: string
  id?: number
  size?: number
  digest?: string
  url?: string
}

/** The part of @actions/artifact's client we use; tests pass a fake. */
export interface ArtifactClientLike {
  /** Which artifact service it speaks to, for the log and the job summary (github.com's when absent). */
  readonly service?: string
  uploadArtifact(
    name: string,
    files: string[],
    rootDirectory: string,
    options?: { retentionDays?: number; compressionLevel?: number; skipArchive?: boolean }
  ): Promise<{ id?: number; size?: number; digest?: string }>
}

/** The client for this runner: the legacy service on GitHub Enterprise Server, else the current one. */
export async function loadArtifactClient(env: Record<string, string | undefined> = process.env): Promise<ArtifactClientLike> {
  if (isGhes(env)) return new LegacyArtifactClient(env)
  const { DefaultArtifactClient } = await import('@actions/artifact')
  return new DefaultArtifactClient()
}

/** Why an upload cannot happen in this environment, or undefined when it can. */
export function uploadUnavailableReason(env: Record<string, string | undefined>): string | undefined {
  if (!env.ACTIONS_RUNTIME_TOKEN) {
    return 'no artifact service here (ACTIONS_RUNTIME_TOKEN is not set, as outside a GitHub Actions job)'
  }
  return undefined
}

/** GitHub Enterprise Server, decided as the current toolkit decides it (@actions/artifact 2+ refuses
 *  to run there): any server but github.com, *.ghe.com (GHE.com's data residency) and *.localhost. */
export function isGhes(env: Record<string, string | undefined>): boolean {
  const server = env.GITHUB_SERVER_URL
  if (!server) return false
  const host = new URL(server).hostname.toLowerCase()
  return !(host === 'github.com' || host.endsWith('.ghe.com') || host.endsWith('.localhost') || host === 'localhost')
}

/** Uploads one file as an artifact named after it. */
export async function uploadFile(
  client: ArtifactClientLike,
  zipPath: string,
  retentionDays: number | undefined,
  env: Record<string, string | undefined>
): Promise<UploadResult> {
  const name = path.basename(zipPath)
  let result: { id?: number; size?: number; digest?: string }
  try {
    result = await client.uploadArtifact(name, [zipPath], path.dirname(zipPath), {
      skipArchive: true,
      ...(retentionDays !== undefined ? { retentionDays } : {})
    })
  } catch (e) {
    const message = (e as Error).message
    if (/\(409\)|already exists/i.test(message)) {
      throw new Error(
        `an artifact named ${name} already exists in this workflow run (${message}). Give each export its own artifact-name, e.g. octoplant-\${{ matrix.server }}, or leave it empty to name it after the order.`
      )
    }
    throw new Error(`uploading the artifact ${name} failed: ${client.service ? explainLegacyFailure(message) : message}. The file stays at ${zipPath}.`)
  }
  const { GITHUB_SERVER_URL: server = 'https://github.com', GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: runId } = env
  const url = result.id !== undefined && repo && runId ? `${server}/${repo}/actions/runs/${runId}/artifacts/${result.id}` : undefined
  return { name, ...result, url }
}
