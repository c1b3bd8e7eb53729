// The optional look at the server before an export: its versions and its maintenance mode. It
// informs the log and the job summary; nothing it finds, and no failure of it, decides whether the
// export runs (an export account may lack the right to read the status, an older server may not
// have a call, and in maintenance mode reads still work).
import type { Clock } from '../base/clock.js'
import type { Logger } from '../base/logger.js'
import { untrusted } from '../base/untrusted.js'
import type { OctoplantClient } from '../octoplant/client.js'
import { API_PATHS, type MaintenanceMode, type VersionAnswer } from '../../protocol/protocol.js'

export interface ServerInfo {
  apiVersion?: string
  versiondogVersion?: string
  /** Set only while maintenance mode is on. */
  maintenance?: MaintenanceMode
}

/** A probe that takes longer than this is left out. */
const PROBE_TIMEOUT_MS = 10_000

/** The spec's MaintenanceReason values, in words. */
const REASONS: Record<string, string> = {
  PLAIN: 'switched on by a user',
  ARCHIVE_MANAGER: 'the archive manager is modifying the server archive',
  SERVER_SYNC: 'a server sync is running',
  PARALLELSERVER_LOSS: 'the parallel server cannot be reached',
  DISK_LOW: 'the server is low on disk space'
}

/** Reads the three status calls at once, each bounded by `timeoutMs` and the run's signal; each
 *  failure is a debug line. */
export async function lookAtServer(
  client: OctoplantClient,
  logger: Logger,
  o: { clock: Clock; signal?: AbortSignal; timeoutMs?: number }
): Promise<ServerInfo> {
  const probe = async <T>(path: string): Promise<T | undefined> => {
    const limit = o.clock.timeout(o.timeoutMs ?? PROBE_TIMEOUT_MS, new Error(`no answer within ${(o.timeoutMs ?? PROBE_TIMEOUT_MS) / 1000}s`))
    try {
      return await client.status<T>(path, o.signal ? AbortSignal.any([o.signal, limit]) : limit)
    } catch (e) {
      o.signal?.throwIfAborted()
      logger.debug(`optional GET ${path} not read, carrying on: ${(e as Error).message}`)
      return undefined
    }
  }
  const [api, versiondog, maintenance] = await Promise.all([
    probe<VersionAnswer>(API_PATHS.apiVersion),
    probe<VersionAnswer>(API_PATHS.versiondogVersion),
    probe<MaintenanceMode>(API_PATHS.maintenanceMode)
  ])
  const info: ServerInfo = {
    apiVersion: textOf(api?.version),
    versiondogVersion: textOf(versiondog?.version),
    maintenance: maintenance?.active === true ? maintenance : undefined
  }
  const versions = describeVersions(info)
  if (versions) logger.info(`Server: ${versions}.`)
  if (info.maintenance) {
    logger.warning(
      `octoplant is in maintenance mode (${describeMaintenance(info.maintenance)}). Check-ins are blocked in this mode but reads still work, ` +
        'so the export is ordered anyway; if the server refuses it, its own message follows.'
    )
  }
  return info
}

/** "octoplant API 1.2.0, versiondog 10.1.0", or '' when neither is known. */
export function describeVersions(info: ServerInfo): string {
  return [info.apiVersion && `octoplant API ${info.apiVersion}`, info.versiondogVersion && `versiondog ${info.versiondogVersion}`]
    .filter(Boolean)
    .join(', ')
}

/** "reason DISK_LOW: the server is low on disk space, since …, from PC-7, by user <uuid>" */
export function describeMaintenance(m: MaintenanceMode): string {
  const reason = textOf(m.reason) ?? 'UNSPECIFIED'
  return [
    `reason ${reason}${REASONS[reason] ? `: ${REASONS[reason]}` : ''}`,
    textOf(m.activatedAt) && `since ${textOf(m.activatedAt)}`,
    textOf(m.computerName) && `from ${textOf(m.computerName)}`,
    textOf(m.activatedBy?.id?.data) && `by user ${textOf(m.activatedBy?.id?.data)}`
  ]
    .filter(Boolean)
    .join(', ')
}

/** A non-empty string, or undefined (protojson writes unset strings as "" and messages as null). */
function textOf(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? untrusted(v.trim(), 200) : undefined
}
