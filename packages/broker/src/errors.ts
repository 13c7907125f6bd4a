import { CoyotesError } from '@coyotes/protocol';

/** Negative integers the Lua scripts return for domain failures; the same number means the same thing in every script. */
export enum BrokerErrorCode {
  DuplicateCommand = -1,
  IdExists = -2,
  AlreadyFinished = -3,
  NotFailed = -4,
  NotFound = -5,
  LeaseLost = -6,
}

/** Turns a script's negative result into the error it stands for. */
export function brokerError(code: number, taskId: string): CoyotesError {
  switch (code as BrokerErrorCode) {
    case BrokerErrorCode.NotFound:
      return new CoyotesError('COY_ERR_TASK_NOT_FOUND', `task ${taskId} not found`);
    case BrokerErrorCode.AlreadyFinished:
      return new CoyotesError('COY_ERR_TASK_FINISHED', `task ${taskId} has already finished`);
    case BrokerErrorCode.NotFailed:
      return new CoyotesError('COY_ERR_TASK_NOT_FAILED', `task ${taskId} is not in the failed list`);
    case BrokerErrorCode.DuplicateCommand:
      return new CoyotesError(
        'COY_ERR_TASK_DUPLICATE',
        `task ${taskId}: an identical command line is already queued or running in this distinct channel`,
      );
    case BrokerErrorCode.IdExists:
      return new CoyotesError('COY_ERR_TASK_ID_EXISTS', `task id ${taskId} is already taken`);
    default:
      return new CoyotesError('COY_ERR_TASK_INVALID', `task ${taskId}: broker error ${code}`);
  }
}

/** What ioredis rejects a command with while Redis cannot be reached (by name or message). */
const UNREACHABLE =
  /max retries per request|connection is closed|stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|connect ETIMEDOUT|All sentinels are unreachable|Failed to refresh slots cache|None of startup nodes is available|ClusterAllFailedError/i;

/**
 * A Redis connection failure as the error Coyotes reports (`COY_ERR_REDIS_UNAVAILABLE`, HTTP 503);
 * undefined for any other error (a Redis reply error stays what it is).
 */
export function redisUnavailable(error: unknown): CoyotesError | undefined {
  if (!(error instanceof Error) || error instanceof CoyotesError) return undefined;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (error.name !== 'MaxRetriesPerRequestError' && !UNREACHABLE.test(`${error.name} ${code} ${error.message}`)) return undefined;
  return new CoyotesError('COY_ERR_REDIS_UNAVAILABLE', 'Redis could not be reached', { cause: error, hint: 'check Redis' });
}
