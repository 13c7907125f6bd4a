import type { ChannelConfig } from './channel.js';
import { taskArgv } from './door.js';
import { CoyotesError } from './errors.js';
import type { TaskSpec } from './task.js';

/** `*` matches any run of characters (slashes too), `?` one character; everything else is literal. */
function patternToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/**
 * Whether a channel's `allowedCommands` lets this program run. The program is what a task
 * executes: `command` when given, else the first word of its command line. An absent or empty
 * list allows everything.
 */
export function isCommandAllowed(channel: Pick<ChannelConfig, 'allowedCommands'>, program: string): boolean {
  const allowed = channel.allowedCommands;
  if (!allowed || allowed.length === 0) return true;
  return allowed.some((pattern) => pattern === program || patternToRegExp(pattern).test(program));
}

/**
 * Environment variables that choose which program runs, or what it loads before its own code:
 * set by a task, they would turn a channel's `allowedCommands` into nothing (`PATH` finds another
 * `php`, `LD_PRELOAD` runs any library inside the allowed one).
 */
const PROGRAM_CHANGING_ENV =
  /^(PATH|LD_.*|DYLD_.*|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|IFS|PS4|GCONV_PATH|NODE_OPTIONS|NODE_PATH|PYTHONPATH|PYTHONSTARTUP|PYTHONHOME|PERL5LIB|PERL5OPT|PERLLIB|RUBYOPT|RUBYLIB|JAVA_TOOL_OPTIONS|PHPRC|PHP_INI_SCAN_DIR)$/;

/** The task `env` names a channel with `allowedCommands` refuses (none when the list is absent or empty). */
export function refusedEnvNames(channel: Pick<ChannelConfig, 'allowedCommands'>, env: Record<string, string> | undefined): string[] {
  if (!env || !channel.allowedCommands || channel.allowedCommands.length === 0) return [];
  return Object.keys(env).filter((name) => PROGRAM_CHANGING_ENV.test(name));
}

/**
 * The argv a task runs, refused when the channel's `allowed_commands` does not list its program
 * (argv[0]: in a shell channel that is /bin/sh, so a shell line cannot smuggle other programs),
 * or when its env sets a variable that changes which program runs. Checked at admission and
 * again by the runner (the list may have changed since): the same gate whatever door a task took.
 */
export function allowedTaskArgv(
  spec: Pick<TaskSpec, 'name' | 'command' | 'env'>,
  channel: Pick<ChannelConfig, 'name' | 'shell' | 'allowedCommands'>,
): string[] {
  const refused = refusedEnvNames(channel, spec.env);
  if (refused.length > 0) {
    throw new CoyotesError(
      'COY_ERR_TASK_INVALID',
      `env ${refused.join(', ')} may not be set in channel ${channel.name}: it has allowed_commands, and these change which program runs`,
    );
  }
  const argv = taskArgv(spec, channel);
  if (!isCommandAllowed(channel, argv[0]!)) {
    throw new CoyotesError('COY_ERR_TASK_NOT_ALLOWED', `command "${argv[0]}" is not in the allowed_commands of channel ${channel.name}`);
  }
  return argv;
}
