// compare-with-previous: the record of the newest earlier export with the same artifact-name in this
// repository, found with GitHub's REST API (List artifacts for a repository, filtered by name) and
// fetched with @actions/artifact from the run that made it; on GitHub Enterprise Server, where that
// client refuses to run, as the ZIP the REST API serves of the artifact's files (Download an
// artifact), unpacked with the engine's checked extraction. Reading other runs' artifacts needs a
// token with actions: read (github-token, by default the job's own token).
import { mkdtempSync, readdirSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import * as path from 'node:path'
import { extractZip } from '../engine/zip/extract.js'
import { isGhes } from './artifact.js'

export interface ArtifactListing {
  id: number
  name: string
  expired: boolean
  createdAt: string
  runId?: number
}

export interface PreviousDeps {
  /** Artifacts of the repository with this exact name, newest first. */
  list(name: string): Promise<ArtifactListing[]>
  /** Downloads one artifact of another run into `dir`. */
  download(artifact: ArtifactListing, dir: string): Promise<void>
  env: Record<string, string | undefined>
  tempDir: string
}

/** The record artifact's name for an artifact-name: the record file's own name (skipArchive). */
export const recordArtifactName = (artifactName: string) => `${artifactName}.record.json`

/** The path of the previous export's record, or undefined when no earlier run kept one. */
export async function findPreviousRecord(artifactName: string, deps: PreviousDeps): Promise<string | undefined> {
  const name = recordArtifactName(artifactName)
  const thisRun = Number(deps.env.GITHUB_RUN_ID)
  const found = (await deps.list(name)).find(a => a.name === name && !a.expired && a.runId !== thisRun)
  if (!found) return undefined
  const dir = mkdtempSync(path.join(deps.tempDir, 'previous-record-'))
  await deps.download(found, dir)
  const files = readdirSync(dir)
  if (files.length !== 1) throw new Error(`the artifact ${name} (id ${found.id}) held ${files.length} files, not the one record`)
  return path.join(dir, files[0])
}

/** The REST listing and the download, with the toolkit (loaded only when asked for). */
export async function githubPreviousDeps(token: string, env: Record<string, string | undefined>, tempDir: string): Promise<PreviousDeps> {
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '/').split('/')
  const { getOctokit } = await import('@actions/github')
  const octokit = getOctokit(token)
  return {
    env,
    tempDir,
    list: async name => {
      const { data } = await octokit.rest.actions.listArtifactsForRepo({ owner, repo, name, per_page: 100 })
      return data.artifacts
        .map(a => ({ id: a.id, name: a.name, expired: a.expired, createdAt: a.created_at ?? '', runId: a.workflow_run?.id ?? undefined }))
        .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : b.id - a.id))
    },
    download: async (artifact, dir) => {
      if (isGhes(env)) {
        const { data } = await octokit.rest.actions.downloadArtifact({ owner, repo, artifact_id: artifact.id, archive_format: 'zip' })
        const zip = `${dir}.zip`
        await writeFile(zip, Buffer.from(data as ArrayBuffer), { mode: 0o600 })
        try {
          await extractZip(zip, dir)
        } finally {
          await rm(zip, { force: true })
        }
        return
      }
      if (artifact.runId === undefined) throw new Error(`the artifact ${artifact.name} (id ${artifact.id}) names no workflow run`)
      const { DefaultArtifactClient } = await import('@actions/artifact')
      await new DefaultArtifactClient().downloadArtifact(artifact.id, {
        path: dir,
        findBy: { token, workflowRunId: artifact.runId, repositoryOwner: owner, repositoryName: repo }
      })
    }
  }
}
