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
    case BrokerErrorCode.LeaseLost:
      return new CoyotesError('COY_ERR_TASK_LEASE_LOST', `task ${taskId}: lease lost to another runner`);
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
