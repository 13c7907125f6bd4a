import type { HistoryRunView as Run, RunStatsView as Stats } from '@coyotes/protocol';
import { formatTable } from '../table.js';
import { optionalCount, print, usageError } from './verb.js';
import type { Verb } from './verb.js';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since 2h` (a span back from now) or an RFC 3339 time, as the API's RFC 3339 `from`/`to`. */
function timeFlag(verb: Verb, flags: Record<string, unknown>, name: string): string | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const span = /^(\d+)([smhd])$/.exec(text);
  const ms = span ? Date.now() - Number(span[1]) * UNITS[span[2]!]! : Date.parse(text);
  if (!Number.isFinite(ms)) throw usageError(verb, `--${name} must be a span such as 30m, 2h, 7d or an RFC 3339 time, got "${text}"`);
  return new Date(ms).toISOString();
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** `coyotes history [stats]` */
export const history: Verb = {
  name: 'history',
  usage:
    'coyotes history [stats] [--channel C] [--status S] [--command TEXT] [--node ID] [--since 2h|TIME] [--until TIME] [--limit N] [--cursor C]',
  summary:
    'finished runs kept in the SQL task history (-history-url), newest first; `stats`: runs, failure rate, p50/p95 per channel and command',
  flags: { string: ['channel', 'status', 'command', 'node', 'since', 'until', 'limit', 'cursor'] },
  async run(args, context) {
    const [sub, ...extra] = args.positionals;
    if ((sub !== undefined && sub !== 'stats') || extra.length > 0) throw usageError(this, 'the only sub-command is `stats`');
    const flags = args.flags;
    const query = new URLSearchParams();
    const set = (name: string, value: unknown) => value !== undefined && query.set(name, String(value));
    set('channel', flags.channel);
    set('from', timeFlag(this, flags, 'since'));
    set('to', timeFlag(this, flags, 'until'));
    if (sub === 'stats') {
      for (const name of ['status', 'command', 'node', 'limit', 'cursor']) {
        if (flags[name] !== undefined) throw usageError(this, `--${name} is for listing runs, not stats`);
      }
      const data = await context.client.request<{ channels: Stats[]; commands: Stats[] }>('GET', `/history/stats?${query}`);
      const row = (s: Stats, first: string) => [first, s.runs, `${(s.failure_rate * 100).toFixed(1)}%`, s.p50_ms, s.p95_ms];
      const human = [
        formatTable(
          ['CHANNEL', 'RUNS', 'FAILED', 'P50 MS', 'P95 MS'],
          data.channels.map((s) => row(s, s.channel)),
        ),
        '',
        formatTable(
          ['COMMAND', 'RUNS', 'FAILED', 'P50 MS', 'P95 MS'],
          data.commands.map((s) => row(s, `${s.channel}: ${cut(s.command ?? '', 60)}`)),
        ),
      ].join('\n');
      print(context, data, human);
      return 0;
    }
    set('status', flags.status);
    set('command', flags.command);
    set('node', flags.node);
    set('limit', optionalCount(this, flags, 'limit', 1));
    set('cursor', flags.cursor);
    const data = await context.client.request<{ items: Run[]; next_cursor: string | null }>('GET', `/history?${query}`);
    const rows = data.items.map((r) => [
      r.finished_at,
      r.task_id,
      r.attempt,
      r.channel,
      r.status,
      r.exit_code ?? '-',
      r.duration_ms,
      r.node,
      cut(r.command, 60),
    ]);
    const more = data.next_cursor ? `\nmore: --cursor ${data.next_cursor}` : '';
    print(context, data, formatTable(['FINISHED', 'TASK', 'ATTEMPT', 'CHANNEL', 'STATUS', 'EXIT', 'MS', 'NODE', 'COMMAND'], rows) + more);
    return 0;
  },
};
