import { oneTaskId, print } from './verb.js';
import type { Verb } from './verb.js';

/** `coyotes kill ID` */
export const kill: Verb = {
  name: 'kill',
  usage: 'coyotes kill ID',
  summary: "kill a running task's command (its whole process group), wherever it runs",
  flags: {},
  async run({ positionals }, context) {
    const id = oneTaskId(this, positionals);
    const data = await context.client.kill(id);
    print(context, data, `killing ${id}`);
    return 0;
  },
};
