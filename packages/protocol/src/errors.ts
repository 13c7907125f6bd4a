/** What the registry knows of a code: its meaning and, when a request can be refused with it, the HTTP status. */
export interface ErrorSpec {
  message: string;
  /** The HTTP status of a request refused with this code; absent for codes no request answers with (a 500 if one did). */
  status?: number;
}

/**
 * Every error code Coyotes raises, grouped by area, with its HTTP status (the api's envelope
 * reads it there; Fastify's `createError` keeps them together the same way). Codes are never
 * reused once retired; each one is documented in docs/errors.md (a test checks both).
 */
export const ErrorCodes = {
  // config: bad options at start
  COY_ERR_CONFIG_INVALID: { message: 'an option has an invalid value' },
  COY_ERR_CONFIG_UNKNOWN_FLAG: { message: 'an unknown command-line flag was given' },
  // process: pidfile and supervision
  COY_ERR_PIDFILE_LOCKED: { message: 'another live master holds the pidfile' },
  COY_ERR_PROCESS_OPEN_FILES: { message: 'the open-files limit (ulimit -n) is too low for the server to start' },
  // channel registry
  COY_ERR_CHANNEL_NOT_FOUND: { message: 'no channel has that name', status: 404 },
  COY_ERR_CHANNEL_IN_USE: { message: 'schedules still put their runs into that channel', status: 409 },
  COY_ERR_CHANNEL_NAME_INVALID: { message: 'channel names are 1-64 characters of [A-Za-z0-9_.:-]', status: 400 },
  // tasks
  COY_ERR_TASK_NOT_FOUND: { message: 'no task has that id', status: 404 },
  COY_ERR_TASK_INVALID: { message: 'the task is malformed or can never run', status: 400 },
  COY_ERR_TASK_TOO_LARGE: { message: "the task's command line is over this host's exec limits", status: 400 },
  COY_ERR_TASK_NOT_FAILED: { message: 'the task is not in the failed list', status: 409 },
  COY_ERR_TASK_FINISHED: { message: 'the task has already finished', status: 409 },
  COY_ERR_TASK_ID_EXISTS: { message: 'a task with that id was already accepted', status: 409 },
  COY_ERR_TASK_DUPLICATE: {
    message: 'an identical command line is already queued or running in the distinct channel',
    status: 409,
  },
  COY_ERR_TASK_NOT_ALLOWED: { message: "the task's program is not in the channel's allowed_commands", status: 403 },
  COY_ERR_TASK_NOT_RUNNING: { message: 'the task is not running', status: 409 },
  // schedules
  COY_ERR_SCHEDULE_INVALID: {
    message: 'a schedule field is malformed: cron expression, timezone, overlap, catch_up or the command',
    status: 400,
  },
  COY_ERR_SCHEDULE_NOT_FOUND: { message: 'no schedule has that name', status: 404 },
  COY_ERR_SCHEDULE_EXISTS: { message: 'a schedule with that name already exists', status: 409 },
  // http: requests refused before any task or channel is looked at
  COY_ERR_REQUEST_INVALID: { message: 'a request field is missing, malformed or unknown', status: 400 },
  COY_ERR_REQUEST_UNAUTHORIZED: { message: 'a valid bearer token is required', status: 401 },
  COY_ERR_REQUEST_TOO_LARGE: { message: 'the request body (or an uploaded script) is over its size limit', status: 413 },
  COY_ERR_ROUTE_NOT_FOUND: { message: 'no route has that path', status: 404 },
  COY_ERR_ROUTE_METHOD_NOT_ALLOWED: { message: 'the route does not answer that method', status: 405 },
  // dead letters
  COY_ERR_DEAD_LETTER_NOT_FOUND: { message: 'no dead letter has that id', status: 404 },
  // redis
  COY_ERR_REDIS_UNAVAILABLE: { message: 'Redis could not be reached', status: 503 },
  // client: the coyotes CLI verbs and CoyotesClient
  COY_ERR_CLIENT_UNREACHABLE: { message: 'the HTTP API could not be reached' },
  COY_ERR_CLIENT_REQUEST_FAILED: { message: 'the HTTP API answered with an error' },
  // history: the SQL task history (-history-url)
  COY_ERR_HISTORY_UNREACHABLE: { message: 'the SQL history database could not be reached or migrated at start' },
  COY_ERR_HISTORY_DISABLED: { message: 'the task history is off (no -history-url)', status: 404 },
  // transport: channel queues in RabbitMQ (-broker-url)
  COY_ERR_BROKER_UNREACHABLE: { message: 'the RabbitMQ of -broker-url could not be reached or refused the login at start' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * Codes once registered and never raised any more: reserved, never to be given another meaning
 * (docs/errors.md lists them under "Retired").
 */
export const RetiredErrorCodes = {
  COY_ERR_CHILD_UNAVAILABLE: 'retired: no code path raised it',
  COY_ERR_TASK_LEASE_LOST: "never raised: a result that lost its lease is an outcome of completeTask ('lease-lost'), not an error",
  COY_ERR_IPC_TIMEOUT: 'retired: no route waits on master any more (channel writes go through the broker, figures are read from Redis)',
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

/** Whether a string names a registered code (a code that crossed a process boundary is checked here). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ErrorCodes, code);
}

/** The HTTP status a request refused with this code answers: the registry's, else 500. */
export function errorStatus(code: ErrorCode): number {
  const spec: ErrorSpec = ErrorCodes[code];
  return spec.status ?? 500;
}

export function isCoyotesError(error: unknown, code?: ErrorCode): error is CoyotesError {
  return error instanceof CoyotesError && (code === undefined || error.code === code);
}
