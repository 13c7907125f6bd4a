import type { ChannelConfig } from './channel.js';

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
