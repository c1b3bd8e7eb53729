import { describe, expect, it } from 'vitest'
import { type ArtifactClientLike, isGhes, uploadUnavailableReason, uploadFile } from '../src/action/artifact.js'

function recordingClient(answer = { id: 42, size: 1234, digest: 'sha256:abc' }) {
  const calls: unknown[][] = []
  const client: ArtifactClientLike = {
    async uploadArtifact(...args) {
      calls.push(args)
      return answer
    }
  }
  return { client, calls }
}

describe('the artifact upload', () => {
  it('uploads the ZIP as is (skipArchive), named after the file, with the retention asked for', async () => {
    const { client, calls } = recordingClient()
    const env = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'plant/backups', GITHUB_RUN_ID: '77' }
    const result = await uploadFile(client, '/tmp/x/octoplant-export-o1.zip', 14, env)
    expect(calls).toEqual([['octoplant-export-o1.zip', ['/tmp/x/octoplant-export-o1.zip'], '/tmp/x', { skipArchive: true, retentionDays: 14 }]])
    expect(result).toEqual({
      name: 'octoplant-export-o1.zip',
      id: 42,
      size: 1234,
      digest: 'sha256:abc',
      url: 'https://github.com/plant/backups/actions/runs/77/artifacts/42'
    })
  })

  it("leaves retention to the repository's default when none is given", async () => {
    const { client, calls } = recordingClient()
    await uploadFile(client, '/tmp/a.zip', undefined, {})
    expect(calls[0][3]).toEqual({ skipArchive: true })
  })

  it('knows where no artifact service exists', () => {
    expect(uploadUnavailableReason({})).toMatch(/ACTIONS_RUNTIME_TOKEN is not set/)
    expect(uploadUnavailableReason({ ACTIONS_RUNTIME_TOKEN: 't' })).toBeUndefined()
    expect(isGhes({ GITHUB_SERVER_URL: 'https://github.com' })).toBe(false)
    expect(isGhes({ GITHUB_SERVER_URL: 'https://acme.ghe.com' })).toBe(false)
    expect(isGhes({ GITHUB_SERVER_URL: 'http://github.localhost' })).toBe(false)
    expect(isGhes({})).toBe(false)
    expect(isGhes({ GITHUB_SERVER_URL: 'https://github.acme.corp' })).toBe(true)
  })
})
