import { FINAL_STATES } from '../client.js';
import { followTask, printTails } from './follow.js';
import { oneTaskId, print } from './verb.js';
import type { Verb } from './verb.js';

/** `coyotes logs [-f] ID` */
export const logs: Verb = {
  name: 'logs',
  usage: 'coyotes logs [-f] ID',
  summary: "print a task's output; -f follows it until the task ends",
  flags: { boolean: ['follow'], alias: { follow: ['f'] } },
  async run({ positionals, flags }, context) {
    const id = oneTaskId(this, positionals);
    const task = await context.client.task(id);
    if (flags.follow === true && !FINAL_STATES.has(task.status)) {
      const done = await followTask(context.client, id, context, !context.json);
      if (context.json) print(context, done.result, '');
      return 0;
    }
    if (context.json) print(context, task.result, '');
    // a finished task: the whole log when the server keeps one, else the tails kept with the result
    else if (FINAL_STATES.has(task.status)) await followTask(context.client, id, context, true);
    else if (task.result) printTails(task, context);
    else context.stderr(`task ${id} is ${task.status}: no output yet${flags.follow === true ? '' : ' (use -f to follow it)'}\n`);
    return 0;
  },
};
