import type { ChannelSettings } from '../client.js';
import { statsTable } from './status.js';
import { optionalCount, print, usageError } from './verb.js';
import type { Verb } from './verb.js';

const ACTIONS = ['ls', 'create', 'resize', 'pause', 'resume', 'rm'] as const;

/** `coyotes channels ls|create|resize|pause|resume|rm` */
export const channels: Verb = {
  name: 'channels',
  usage:
    'coyotes channels ls | create NAME [-w workers] [--distinct] [--max-retries n] [--timeout s] [--shell] | resize NAME WORKERS | pause NAME | resume NAME | rm NAME',
  summary: 'list, create, resize, pause, resume or delete channels (live, on every host)',
  flags: { string: ['workers', 'max-retries', 'timeout'], boolean: ['distinct', 'shell'], alias: { workers: ['w'] } },
  async run({ positionals, flags }, context) {
    const [action = 'ls', name, extra] = positionals;
    if (!(ACTIONS as readonly string[]).includes(action)) throw usageError(this, `unknown action "${action}"`);
    if (action === 'ls') {
      const { channels: rows } = await context.client.stats();
      print(context, rows, statsTable(rows));
      return 0;
    }
    if (!name) throw usageError(this, `${action} needs a channel name`);
    const client = context.client;
    switch (action) {
      case 'create': {
        const settings: ChannelSettings = {
          workers: optionalCount(this, flags, 'workers', 1),
          maxRetries: optionalCount(this, flags, 'max-retries'),
          timeoutSeconds: optionalCount(this, flags, 'timeout'),
        };
        if (flags.distinct === true) settings.distinct = true;
        if (flags.shell === true) settings.shell = true;
        print(context, await client.createChannel(name, settings), `created ${name}`);
        return 0;
      }
      case 'resize': {
        const workers = optionalCount(this, { workers: extra }, 'workers', 1);
        if (workers === undefined) throw usageError(this, 'resize needs the number of workers');
        print(context, await client.updateChannel(name, { workers }), `${name}: ${workers} workers`);
        return 0;
      }
      case 'pause':
      case 'resume':
        print(
          context,
          await client.updateChannel(name, { paused: action === 'pause' }),
          `${name}: ${action === 'pause' ? 'paused' : 'resumed'}`,
        );
        return 0;
      default:
        print(context, await client.deleteChannel(name), `deleted ${name} (its process drains)`);
        return 0;
    }
  },
};
