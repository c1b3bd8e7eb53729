// Who made an export, for its record: the CI run from the CI system's own variables (names, ids and
// links only; never a token, although several of these systems put one in the environment), or the
// machine and user where no CI system is recognised.
import type { RunOrigin } from '../engine/evidence/record.js'

type Env = Record<string, string | undefined>

/** GitHub Actions: the repository, run, attempt, workflow, ref and the run's page. */
export function githubOrigin(env: Env): RunOrigin {
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com'
  return pick({
    system: 'github-actions',
    repository: env.GITHUB_REPOSITORY,
    runId: env.GITHUB_RUN_ID,
    runAttempt: env.GITHUB_RUN_ATTEMPT,
    workflow: env.GITHUB_WORKFLOW,
    workflowRef: env.GITHUB_WORKFLOW_REF,
    ref: env.GITHUB_REF,
    sha: env.GITHUB_SHA,
    actor: env.GITHUB_ACTOR,
    runUrl: env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined
  })
}

/** The command: whichever CI system's variables are there, else the host. */
export function commandOrigin(env: Env, host: { hostname: string; user?: string }): RunOrigin {
  if (env.GITHUB_ACTIONS === 'true') return githubOrigin(env)
  if (env.GITLAB_CI === 'true') {
    return pick({
      system: 'gitlab-ci',
      project: env.CI_PROJECT_PATH,
      pipelineId: env.CI_PIPELINE_ID,
      pipelineUrl: env.CI_PIPELINE_URL,
      jobId: env.CI_JOB_ID,
      jobName: env.CI_JOB_NAME,
      jobUrl: env.CI_JOB_URL,
      ref: env.CI_COMMIT_REF_NAME,
      sha: env.CI_COMMIT_SHA,
      user: env.GITLAB_USER_LOGIN
    })
  }
  if (env.JENKINS_URL || env.BUILD_URL?.includes('/job/')) {
    return pick({ system: 'jenkins', jobName: env.JOB_NAME, buildNumber: env.BUILD_NUMBER, buildUrl: env.BUILD_URL, node: env.NODE_NAME })
  }
  if (env.TF_BUILD?.toLowerCase() === 'true') {
    const collection = env.SYSTEM_COLLECTIONURI?.replace(/\/+$/, '')
    return pick({
      system: 'azure-devops',
      project: env.SYSTEM_TEAMPROJECT,
      pipeline: env.BUILD_DEFINITIONNAME,
      buildId: env.BUILD_BUILDID,
      buildNumber: env.BUILD_BUILDNUMBER,
      sourceBranch: env.BUILD_SOURCEBRANCH,
      sourceVersion: env.BUILD_SOURCEVERSION,
      requestedFor: env.BUILD_REQUESTEDFOR,
      buildUrl: collection && env.SYSTEM_TEAMPROJECT && env.BUILD_BUILDID ? `${collection}/${encodeURIComponent(env.SYSTEM_TEAMPROJECT)}/_build/results?buildId=${env.BUILD_BUILDID}` : undefined
    })
  }
  return pick({ system: 'none', host: host.hostname, user: host.user })
}

function pick(o: Record<string, string | undefined>): RunOrigin {
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => !!e[1]))
}
