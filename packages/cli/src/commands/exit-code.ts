import { constants } from 'node:os';
import type { TaskDetail } from '../client.js';

/**
 * The exit code `push --wait` ends with, as a shell would report the command: its own code,
 * 128+N for signal N, 124 on timeout (as timeout(1)), 126/127 when it could not start (found but
 * not runnable / anything else, as the result says), 125 when the task was cancelled before it finished.
 */
export function taskExitCode(task: TaskDetail): number {
  if (task.status === 'succeeded') return 0;
  const result = task.result;
  if (task.status === 'cancelled' || !result) return task.status === 'cancelled' ? 125 : 1;
  switch (result.outcome) {
    case 'exited':
      return result.exit_code ?? 1;
    case 'signaled':
    case 'killed':
      return 128 + (constants.signals[(result.signal ?? 'SIGKILL') as NodeJS.Signals] ?? 9);
    case 'timed-out':
      return 124;
    case 'spawn-error':
      return result.exit_code ?? 127;
    case 'poison':
      return 1;
  }
}
