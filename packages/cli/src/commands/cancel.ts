import { oneTaskId, print } from './verb.js';
import type { Verb } from './verb.js';

/** `coyotes cancel ID` */
export const cancel: Verb = {
  name: 'cancel',
  usage: 'coyotes cancel ID',
  summary: 'cancel a queued or delayed task (a running one is killed)',
  flags: {},
  async run({ positionals }, context) {
    const id = oneTaskId(this, positionals);
    const data = await context.client.cancel(id);
    print(context, data, `${data.status} ${id}`);
    return 0;
  },
};
