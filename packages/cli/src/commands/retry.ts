import { ApiRequestError } from '../client.js';
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
      const retried: string[] = [];
      const skipped: string[] = [];
      for (const id of ids) {
        try {
          await context.client.retry(id, channel);
          retried.push(id);
        } catch (error) {
          // a distinct channel refuses the retry while an identical task is queued or running
          if (!(error instanceof ApiRequestError) || error.status !== 409) throw error;
          skipped.push(id);
        }
      }
      const left = skipped.length > 0 ? ` (${skipped.length} left failed: an identical task is queued or running)` : '';
      print(
        context,
        { channel, retried, ...(skipped.length > 0 ? { skipped } : {}) },
        `retried ${retried.length} failed task${retried.length === 1 ? '' : 's'} of ${channel}${left}`,
      );
      return 0;
    }
    const id = oneTaskId(this, positionals);
    await context.client.retry(id, channel);
    print(context, { task_id: id, retried: true }, `retried ${id}`);
    return 0;
  },
};
