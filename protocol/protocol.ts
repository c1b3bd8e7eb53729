// Wire-level facts of the octoplant Export API (see ../spec, the server's Swagger subset).
// This folder is all that the simulator and the product share: names, codes and shapes, no behaviour.

export const PUBLIC_CLIENT_ID = 'public-api'
/** Published by the vendor; the same for every installation, so it is not a secret of the user's. */
export const PUBLIC_CLIENT_SECRET = 'ff99971a-f8c3-4d21-5345-f7cb021b4b54'

/** octoplant.exportapi.v1.ExportState.State */
export type OrderState = 'STATE_UNSPECIFIED' | 'STATE_PENDING' | 'STATE_RUNNING' | 'STATE_SUCCEEDED' | 'STATE_FAILED'

/** google.rpc.Code names, indexed by their number. */
const GRPC_CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED'
] as const
export type GrpcCodeName = (typeof GRPC_CODE_NAMES)[number]

export const GrpcCode = Object.fromEntries(GRPC_CODE_NAMES.map((name, i) => [name, i])) as {
  readonly [K in GrpcCodeName]: number
}

/** The HTTP status grpc-gateway answers with for each gRPC code. */
export const HTTP_STATUS_OF_GRPC_CODE: readonly number[] = [
  200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401
]

export function grpcCodeName(code: number | undefined): string {
  if (code === undefined) return 'UNKNOWN'
  return GRPC_CODE_NAMES[code] ?? `code ${code}`
}

/** google.rpc.Status as grpc-gateway writes it. */
export interface RpcStatus {
  code?: number
  message?: string
  details?: unknown[]
}

/** octoplant.exportapi.v1.ExportState. int64 counters may come as strings or numbers. */
export interface ExportState {
  name?: string
  systemId?: string
  licenseSerialNumber?: string
  state?: OrderState
  currentSubProcess?: string
  finishedSubProcesses?: string | number
  openSubProcesses?: string | number
}

/** The exportContents of an order: export kind → its options ({} for the server's defaults). */
export type ExportContents = Record<string, Record<string, unknown>>

/** octoplant.exportapi.v1.Operation, the answer of order and poll. protojson as the gateway writes
 *  it by default (EmitUnpopulated) gives the unset one of error and response as null. */
export interface Operation {
  name?: string
  done?: boolean
  metadata?: ExportState
  error?: RpcStatus | null
  response?: { name?: string } | null
}

/** auvesy.versiondog.status.v1.MaintenanceMode: only `active` is filled while it is off; unset
 *  fields may come as null or "" (EmitUnpopulated). */
export interface MaintenanceMode {
  active?: boolean
  activatedAt?: string | null
  /** usermanagement.v1.UserId: the uuid of the user who switched it on. */
  activatedBy?: { id?: { data?: string } | null } | null
  computerName?: string | null
  /** UNSPECIFIED, PLAIN, ARCHIVE_MANAGER, SERVER_SYNC, PARALLELSERVER_LOSS or DISK_LOW. */
  reason?: string | null
}

/** auvesy.versiondog.authentication.v1.AuthenticateTokenResponse (only userId is marked required)
 *  and RefreshTokenResponse. */
export interface SessionTokenAnswer {
  token?: string
  userId?: { id?: { data?: string } }
  refreshToken?: string
}

/** auvesy.versiondog.status.v1.ApiVersion and VersiondogVersion. */
export interface VersionAnswer {
  version?: string | null
}

export const API_PATHS = {
  token: '/v1/oauth2/token',
  /** Body: the user access token as a bare JSON string; answer {token, userId, refreshToken}. */
  authenticateToken: '/v1/authentication/authenticate_token',
  /** Body: the refresh token as a bare JSON string; answer {token, refreshToken}. */
  refreshToken: '/v1/authentication/refresh_token',
  order: '/v1/order',
  orderOf: (name: string) => `/v1/order/${encodeURIComponent(name)}`,
  cancelOf: (name: string) => `/v1/order/${encodeURIComponent(name)}/cancel`,
  downloadOf: (name: string) => `/v1/order/${encodeURIComponent(name)}/download`,
  maintenanceMode: '/v1/status/maintenance_mode',
  apiVersion: '/v1/status/api_version',
  versiondogVersion: '/v1/status/versiondog_version'
} as const
