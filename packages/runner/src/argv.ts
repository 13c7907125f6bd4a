import { CoyotesError } from '@coyotes/protocol';
import type { TaskSpec } from '@coyotes/protocol';

// the door (protocol) and the runner split, allow and place a task the same way
export { allowedTaskArgv, taskArgv, taskCwd } from '@coyotes/protocol';

const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');
const isStringRecord = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string');
const isCount = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Checks the fields a runner uses have the types it expects. The doors validate what they
 * accept, but a task reaches the runner from whatever Redis holds (an older version, a hand-made
 * entry): a field of the wrong type fails that task here instead of throwing somewhere later.
 */
export function checkTaskSpec(spec: TaskSpec): void {
  const wrong = (field: string, what: string): never => {
    throw new CoyotesError('COY_ERR_TASK_INVALID', `stored task field ${field} must be ${what}`);
  };
  const s = spec as unknown as Record<string, unknown>;
  if (typeof s.name !== 'string') wrong('name', 'a string');
  if (s.command !== undefined) {
    const command = s.command as Record<string, unknown> | null;
    if (typeof command !== 'object' || command === null || typeof command.name !== 'string' || command.name === '') {
      wrong('command.name', 'a non-empty string');
    }
    if (!isStringArray(command!.args)) wrong('command.args', 'an array of strings');
  }
  if (s.cwd !== undefined && typeof s.cwd !== 'string') wrong('cwd', 'a string');
  if (s.env !== undefined && !isStringRecord(s.env)) wrong('env', 'an object of string values');
  if (s.timeoutMs !== undefined && !isCount(s.timeoutMs)) wrong('timeoutMs', 'a non-negative integer');
  if (s.maxRetries !== undefined && !isCount(s.maxRetries)) wrong('maxRetries', 'a non-negative integer');
  if (s.script !== undefined) {
    const script = s.script as Record<string, unknown> | null;
    if (typeof script !== 'object' || script === null || typeof script.name !== 'string' || typeof script.base64 !== 'string') {
      wrong('script', 'an object with string name and base64');
    }
  }
}

/** Variables never passed to commands: process managers' own and Coyotes' secrets. */
const PRIVATE_ENV = /^(pm_|PM2_|COYOTES_)/;

/** The filtered base environment, built once per base object (copying it per task showed in profiles). */
const filteredBases = new WeakMap<NodeJS.ProcessEnv, NodeJS.ProcessEnv>();

/** A command's environment: the base without private variables, plus the task's own. */
export function taskEnv(base: NodeJS.ProcessEnv, extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  let filtered = filteredBases.get(base);
  if (!filtered) {
    filtered = {};
    for (const [name, value] of Object.entries(base)) if (!PRIVATE_ENV.test(name)) filtered[name] = value;
    filteredBases.set(base, filtered);
  }
  // spawn copies the object it is given: sharing the filtered base is safe
  return extra && Object.keys(extra).length > 0 ? { ...filtered, ...extra } : filtered;
}
