import type { ChannelSettings, ChannelStats } from '../client.js';
import type { Colors } from '../colors.js';
import { cut, formatTable } from '../table.js';
import { optionalCount, print, usageError } from './verb.js';
import type { Verb } from './verb.js';

const ACTIONS = ['ls', 'create', 'resize', 'pause', 'resume', 'rm'] as const;

/** Every channel's settings, under the names `channels create` and the API take them. */
export function settingsTable(rows: readonly ChannelStats[], c: Colors): string {
  const header = ['CHANNEL', 'WORKERS', 'GLOBAL', 'MAX RETRIES', 'TIMEOUT', 'DISTINCT', 'SHELL', 'STATE', 'ALLOWED COMMANDS'];
  return formatTable(
    header.map((title) => c.bold(title)),
    rows.map((row) => [
      row.name,
      row.workers,
      row.global_workers > 0 ? String(row.global_workers) : '-',
      row.max_retries,
      row.timeout > 0 ? `${row.timeout} s` : '-',
      row.distinct ? 'yes' : 'no',
      row.shell ? 'yes' : 'no',
      row.paused ? c.yellow('paused') : 'active',
      row.allowed_commands.length > 0 ? cut(row.allowed_commands.join(' '), 40) : 'any',
    ]),
  );
}

/** `coyotes channels ls|create|resize|pause|resume|rm` */
export const channels: Verb = {
  name: 'channels',
  usage:
    'coyotes channels ls | create NAME [-w workers] [--distinct] [--max-retries n] [--timeout s] [--shell] [--update] | resize NAME WORKERS | pause NAME | resume NAME | rm NAME',
  summary:
    'list channels with their settings; create (refused if it exists, unless --update), resize, pause, resume or delete one (live, on every host)',
  flags: { string: ['workers', 'max-retries', 'timeout'], boolean: ['distinct', 'shell', 'update'], alias: { workers: ['w'] } },
  async run({ positionals, flags }, context) {
    const [action = 'ls', name, extra] = positionals;
    if (!(ACTIONS as readonly string[]).includes(action)) throw usageError(this, `unknown action "${action}"`);
    if (action === 'ls') {
      const { channels: rows } = await context.client.stats();
      print(context, rows, settingsTable(rows, context.colors.stdout));
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
        // the API creates or updates (the seed's POST /channels); on the command line, changing
        // a live channel's settings by a create is a mistake unless asked for
        const exists = await client.channelExists(name);
        if (exists && flags.update !== true) {
          context.stderr(`coyotes: channel ${name} exists already: nothing changed (add --update to change its settings)\n`);
          return 1;
        }
        print(context, await client.createChannel(name, settings), `${exists ? 'updated' : 'created'} ${name}`);
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
