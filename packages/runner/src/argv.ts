import { CoyotesError, isCommandAllowed, refusedEnvNames, taskArgv } from '@coyotes/protocol';
import type { ChannelConfig, TaskSpec } from '@coyotes/protocol';

// the door (protocol) and the runner split and place a task the same way
export { taskArgv, taskCwd } from '@coyotes/protocol';

/**
 * The argv a task runs, refused when the channel's `allowed_commands` does not list its program
 * (argv[0]: in a shell channel that is /bin/sh, so a shell line cannot smuggle other programs).
 * The last gate, whatever door the task came in by.
 */
export function allowedTaskArgv(
  spec: Pick<TaskSpec, 'name' | 'command' | 'env'>,
  channel: Pick<ChannelConfig, 'name' | 'shell' | 'allowedCommands'>,
): string[] {
  const argv = taskArgv(spec, channel);
  if (!isCommandAllowed(channel, argv[0]!)) {
    throw new CoyotesError('COY_ERR_TASK_INVALID', `command "${argv[0]}" is not in the allowed_commands of channel ${channel.name}`);
  }
  // allowed_commands given after the task was accepted: its env is checked again here
  const refused = refusedEnvNames(channel, spec.env);
  if (refused.length > 0) {
    throw new CoyotesError(
      'COY_ERR_TASK_INVALID',
      `env ${refused.join(', ')} may not be set in channel ${channel.name}: it has allowed_commands`,
    );
  }
  return argv;
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
