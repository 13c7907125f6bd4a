import { oneTaskId, print, usageError } from './verb.js';
import type { Verb } from './verb.js';

/** `coyotes retry ID` · `coyotes retry --all-failed -c channel` */
export const retry: Verb = {
  name: 'retry',
  usage: 'coyotes retry ID | coyotes retry --all-failed -c channel',
  summary: 'queue a failed task again, or every failed task of a channel',
  flags: { string: ['channel'], boolean: ['all-failed'], alias: { channel: ['c'] } },
  async run({ positionals, flags }, context) {
    const channel = flags.channel as string | undefined;
    if (flags['all-failed'] === true) {
      if (positionals.length > 0) throw usageError(this, 'give either a task id or --all-failed, not both');
      if (!channel) throw usageError(this, '--all-failed needs -c channel');
      // the ids first: a retried task that fails again must not be retried twice in one go
      const ids = await context.client.failedTaskIds(channel);
      for (const id of ids) await context.client.retry(id, channel);
      print(context, { channel, retried: ids }, `retried ${ids.length} failed task${ids.length === 1 ? '' : 's'} of ${channel}`);
      return 0;
    }
    const id = oneTaskId(this, positionals);
    await context.client.retry(id, channel);
    print(context, { task_id: id, retried: true }, `retried ${id}`);
    return 0;
  },
};
