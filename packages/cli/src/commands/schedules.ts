import { shellQuoted } from '@coyotes/protocol';
import { cut, formatTable } from '../table.js';
import { LISTED_COMMAND_MAX } from './tasks.js';
import { optionalCount, print, usageError } from './verb.js';
import type { Verb } from './verb.js';

const ACTIONS = ['ls', 'add', 'rm', 'pause', 'resume', 'run-now'] as const;

/** A schedule as `GET /schedules` shows it (the fields this verb prints). */
interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  channel: string;
  task: string;
  command: { name: string; args: string[] } | null;
  overlap: string;
  paused: boolean;
  next_runs: string[];
  last_run: { task_id: string; status: string; exit_code: number | null } | null;
}

function scheduleTable(rows: ScheduleRow[]): string {
  if (rows.length === 0) return 'no schedules';
  return formatTable(
    ['NAME', 'CRON', 'TZ', 'CHANNEL', 'NEXT', 'LAST RUN', 'TASK'],
    rows.map((row) => [
      row.name,
      row.cron,
      row.timezone,
      row.channel,
      row.paused ? 'paused' : (row.next_runs[0] ?? '-'),
      row.last_run
        ? `${row.last_run.status}${row.last_run.exit_code === null ? '' : ` (${row.last_run.exit_code})`} ${row.last_run.task_id}`
        : '-',
      // as `coyotes tasks` shows a command: shell-quoted, cut to one short line
      cut(row.command ? shellQuoted([row.command.name, ...row.command.args]) : row.task, LISTED_COMMAND_MAX),
    ]),
  );
}

/** `coyotes schedules ls|add|rm|pause|resume|run-now` */
export const schedules: Verb = {
  name: 'schedules',
  usage:
    "coyotes schedules ls | add NAME 'CRON' [-c channel] [--tz zone] [--overlap allow|skip|replace] [--catch-up none|once] [--timeout s] [--max-retries n] [--distinct] [--paused] -- COMMAND [ARGS...] | rm NAME | pause NAME | resume NAME | run-now NAME",
  summary: 'list, add, delete, pause, resume or run now cron-style schedules (fired once per tick across every host)',
  flags: {
    string: ['channel', 'tz', 'overlap', 'catch-up', 'timeout', 'max-retries'],
    boolean: ['distinct', 'paused'],
    alias: { channel: ['c'] },
  },
  async run({ positionals, flags, rest }, context) {
    const [action = 'ls', name, cron] = positionals;
    if (!(ACTIONS as readonly string[]).includes(action)) throw usageError(this, `unknown action "${action}"`);
    const client = context.client;
    if (action === 'ls') {
      const rows = await client.request<ScheduleRow[]>('GET', '/schedules');
      print(context, rows, scheduleTable(rows));
      return 0;
    }
    if (!name) throw usageError(this, `${action} needs a schedule name`);
    const route = `/schedules/${encodeURIComponent(name)}`;
    switch (action) {
      case 'add': {
        if (!cron) throw usageError(this, "add needs a quoted cron expression after the name, e.g. '* * * * *'");
        const [command, ...args] = rest.length > 0 ? rest : positionals.slice(3);
        if (!command) throw usageError(this, 'add needs the command after --');
        const body: Record<string, unknown> = { name, cron, command, args };
        if (flags.channel !== undefined) body.channel = String(flags.channel);
        if (flags.tz !== undefined) body.timezone = String(flags.tz);
        if (flags.overlap !== undefined) body.overlap = String(flags.overlap);
        if (flags['catch-up'] !== undefined) body.catch_up = String(flags['catch-up']);
        body.timeout = optionalCount(this, flags, 'timeout');
        body.max_retries = optionalCount(this, flags, 'max-retries');
        if (flags.distinct === true) body.distinct = true;
        if (flags.paused === true) body.paused = true;
        const row = await client.request<ScheduleRow>('POST', '/schedules', body);
        print(context, row, `added ${name}: next ${row.paused ? 'paused' : (row.next_runs[0] ?? 'never')}`);
        return 0;
      }
      case 'pause':
      case 'resume': {
        const row = await client.request<ScheduleRow>('PATCH', route, { paused: action === 'pause' });
        print(context, row, `${name}: ${action === 'pause' ? 'paused' : `resumed, next ${row.next_runs[0] ?? 'never'}`}`);
        return 0;
      }
      case 'run-now': {
        const fired = await client.request<{ task_id: string | null; result: string }>('POST', `${route}/run`);
        print(context, fired, fired.task_id ? `${name}: queued ${fired.task_id}` : `${name}: ${fired.result}, nothing queued`);
        return 0;
      }
      default:
        print(context, await client.request('DELETE', route), `deleted ${name}`);
        return 0;
    }
  },
};
