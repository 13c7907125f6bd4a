import type { ChannelStats } from '../client.js';
import { formatBytes, formatTable } from '../table.js';
import { print, usageError } from './verb.js';
import type { Verb } from './verb.js';

/** The status table; CPU and RSS columns appear when the server reports them. */
export function statsTable(channels: readonly ChannelStats[]): string {
  // a process not sampled yet (just started) reports null: shown as '-'
  const sampled = channels.some((c) => c.process?.cpu != null || c.process?.rss != null);
  const header = ['CHANNEL', 'WORKERS', 'QUEUED', 'RUNNING', 'DELAYED', 'FAILED', 'DONE', 'STATE', ...(sampled ? ['CPU', 'RSS'] : [])];
  const rows = channels.map((c) => {
    const state = c.paused ? 'paused' : c.process === null ? 'no process here' : c.process.alive ? 'running' : 'restarting';
    const row: (string | number)[] = [
      c.name,
      c.workers,
      c.queued,
      c.running,
      c.delayed,
      c.failed,
      c.done,
      state + (c.distinct ? ', distinct' : ''),
    ];
    if (sampled) {
      row.push(c.process?.cpu == null ? '-' : `${c.process.cpu.toFixed(1)}%`, c.process?.rss == null ? '-' : formatBytes(c.process.rss));
    }
    return row;
  });
  return formatTable(header, rows);
}

/** `coyotes status [channel]` */
export const status: Verb = {
  name: 'status',
  usage: 'coyotes status [channel]',
  summary: 'channels with their workers and queued/running/delayed/failed counts',
  flags: {},
  async run({ positionals }, context) {
    if (positionals.length > 1) throw usageError(this, 'give at most one channel');
    const { channels } = await context.client.stats();
    const wanted = positionals[0];
    const shown = wanted === undefined ? channels : channels.filter((c) => c.name === wanted);
    if (wanted !== undefined && shown.length === 0) {
      context.stderr(`coyotes: channel ${wanted} not found\n`);
      return 1;
    }
    print(context, shown, statsTable(shown));
    return 0;
  },
};
