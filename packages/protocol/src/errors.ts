/**
 * Every error code Coyotes raises, grouped by area. Codes are never reused once retired;
 * each one is documented in docs/errors.md (a test checks both).
 */
export const ErrorCodes = {
  // config: bad options at start
  COY_ERR_CONFIG_INVALID: 'an option has an invalid value',
  COY_ERR_CONFIG_UNKNOWN_FLAG: 'an unknown command-line flag was given',
  // process: pidfile and supervision
  COY_ERR_PIDFILE_LOCKED: 'another live master holds the pidfile',
  // channel registry
  COY_ERR_CHANNEL_NOT_FOUND: 'no channel has that name',
  COY_ERR_CHANNEL_NAME_INVALID: 'channel names are 1-64 characters of [A-Za-z0-9_.:-]',
  // tasks
  COY_ERR_TASK_NOT_FOUND: 'no task has that id',
  COY_ERR_TASK_INVALID: 'the task is malformed or can never run',
  COY_ERR_TASK_TOO_LARGE: "the task's command line is over this host's exec limits",
  COY_ERR_TASK_NOT_FAILED: 'the task is not in the failed list',
  COY_ERR_TASK_FINISHED: 'the task has already finished',
  COY_ERR_TASK_ID_EXISTS: 'a task with that id was already accepted',
  COY_ERR_TASK_DUPLICATE: 'an identical command line is already queued or running in the distinct channel',
  // http: requests refused before any task or channel is looked at
  COY_ERR_REQUEST_INVALID: 'a request field is missing, malformed or unknown',
  // ipc
  COY_ERR_IPC_TIMEOUT: 'the master did not answer in time',
  // redis
  COY_ERR_REDIS_UNAVAILABLE: 'Redis could not be reached',
  // client: the coyotes CLI verbs and CoyotesClient
  COY_ERR_CLIENT_UNREACHABLE: 'the HTTP API could not be reached',
  COY_ERR_CLIENT_REQUEST_FAILED: 'the HTTP API answered with an error',
  // history: the SQL task history (-history-url)
  COY_ERR_HISTORY_UNREACHABLE: 'the SQL history database could not be reached or migrated at start',
  COY_ERR_HISTORY_DISABLED: 'the task history is off (no -history-url)',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * Codes once registered and never raised any more: reserved, never to be given another meaning
 * (docs/errors.md lists them under "Retired").
 */
export const RetiredErrorCodes = {
  COY_ERR_CHILD_UNAVAILABLE: 'retired: no code path raised it',
  COY_ERR_TASK_LEASE_LOST: "never raised: a result that lost its lease is an outcome of completeTask ('lease-lost'), not an error",
} as const;

export interface CoyotesErrorOptions {
  /** What the operator can do about it. */
  hint?: string;
  cause?: unknown;
}

/** The one error type of Coyotes: a namespaced code, a readable message and an optional hint. */
export class CoyotesError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: CoyotesErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CoyotesError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isCoyotesError(error: unknown, code?: ErrorCode): error is CoyotesError {
  return error instanceof CoyotesError && (code === undefined || error.code === code);
}
