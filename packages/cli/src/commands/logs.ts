import { FINAL_STATES } from '../client.js';
import { taskExitCode } from './exit-code.js';
import { followTask, printTails } from './follow.js';
import { outcomeLine } from './outcome.js';
import { oneTaskId, print } from './verb.js';
import type { Verb } from './verb.js';

/** `coyotes logs [-f] ID` */
export const logs: Verb = {
  name: 'logs',
  usage: 'coyotes logs [-f] ID',
  summary: "print a task's output; -f follows it to its end, says how it ended and exits with its code (as push --wait)",
  flags: { boolean: ['follow'], alias: { follow: ['f'] } },
  async run({ positionals, flags }, context) {
    const id = oneTaskId(this, positionals);
    const task = await context.client.task(id);
    if (flags.follow === true) {
      const done = await followTask(context.client, id, context, !context.json);
      if (context.json) print(context, done.result, '');
      else context.stderr(outcomeLine(done, context.colors.stderr));
      return taskExitCode(done);
    }
    if (context.json) print(context, task.result, '');
    // a finished task: the whole log when the server keeps one, else the tails kept with the result
    else if (FINAL_STATES.has(task.status)) await followTask(context.client, id, context, true);
    else if (task.result) printTails(task, context);
    else context.stderr(`task ${id} is ${task.status}: no output yet (use -f to follow it)\n`);
    return 0;
  },
};
