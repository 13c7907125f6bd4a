import { followTask } from './follow.js';
import { taskExitCode } from './exit-code.js';
import { outcomeLine } from './outcome.js';
import { optionalCount, print, usageError } from './verb.js';
import type { Verb } from './verb.js';

/** `coyotes push [-c channel] [--delay s] [--timeout s] [--wait] -- cmd args…` */
export const push: Verb = {
  name: 'push',
  usage: 'coyotes push [-c channel] [--delay s] [--timeout s] [--wait] -- cmd args…',
  summary: "queue a command (run directly, no shell); prints the task id; --wait follows it and exits with the command's code",
  flags: { string: ['channel', 'delay', 'timeout'], boolean: ['wait'], alias: { channel: ['c'] } },
  async run({ positionals, rest, flags }, context) {
    const argv = rest.length > 0 ? rest : positionals;
    if (argv.length === 0 || argv[0] === '') throw usageError(this, 'no command given');
    const delaySeconds = optionalCount(this, flags, 'delay');
    const timeoutSeconds = optionalCount(this, flags, 'timeout');
    const channel = (flags.channel as string | undefined) ?? 'default';
    const pushed = await context.client.push({ channel, command: argv[0]!, args: argv.slice(1), delaySeconds, timeoutSeconds });
    // --json prints the API's own answer, with its key names
    const answer = { task_id: pushed.taskId, task_name: pushed.taskName, result: pushed.accepted };
    if (!pushed.accepted) {
      print(context, answer, `not queued: channel ${channel} is distinct and already has ${pushed.taskName}`);
      return 1;
    }
    if (flags.wait !== true) {
      print(context, answer, pushed.taskId);
      return 0;
    }
    if (!context.json) context.stderr(`queued ${pushed.taskId} in ${channel}\n`);
    const task = await followTask(context.client, pushed.taskId, context, !context.json);
    if (context.json) print(context, task, '');
    else context.stderr(outcomeLine(task, context.colors.stderr));
    return taskExitCode(task);
  },
};
