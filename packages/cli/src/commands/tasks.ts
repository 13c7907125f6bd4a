import type { ListedState, TaskSummary } from '../client.js';
import type { Colors } from '../colors.js';
import { paintState } from '../colors.js';
import { cut, formatTable } from '../table.js';
import { describeEnd, formatDuration } from './outcome.js';
import { optionalCount, print, usageError } from './verb.js';
import type { Verb } from './verb.js';

const STATES: readonly ListedState[] = ['queued', 'running', 'delayed', 'failed', 'done', 'succeeded', 'cancelled'];

/** A command line in a list: one line, at most this many characters (`coyotes show ID` has it whole). */
export const LISTED_COMMAND_MAX = 60;

/** What a listed task did or does: how it ended, or since when it waits or runs. */
function taskWhat(task: TaskSummary): string {
  if (task.status === 'running') return `since ${task.running_since ?? '?'}`;
  if (task.status === 'delayed') return `until ${task.execute_at ?? '?'}`;
  if (task.status === 'queued') return `since ${task.created_at}`;
  return describeEnd({ ...task, result: task.result && { ...task.result, stdout_tail: '', stderr_tail: '' } });
}

/** The task list as `coyotes tasks` prints it. */
export function tasksTable(tasks: readonly TaskSummary[], c: Colors): string {
  const rows = tasks.map((task) => [
    task.task_id,
    task.channel,
    paintState(c, task.status),
    taskWhat(task),
    task.result ? formatDuration(task.result.duration_ms) : '-',
    cut(task.command_line, LISTED_COMMAND_MAX),
  ]);
  return formatTable(
    ['ID', 'CHANNEL', 'STATE', 'ENDED / WAITING', 'TOOK', 'COMMAND'].map((title) => c.bold(title)),
    rows,
  );
}

/** `coyotes tasks [-c channel] [--state s] [--limit n] [--offset n]` */
export const tasks: Verb = {
  name: 'tasks',
  usage: 'coyotes tasks [-c channel] [--state queued|running|delayed|failed|done|cancelled] [--limit n] [--offset n]',
  summary: 'list tasks: running, queued, delayed, then failed, done and cancelled (most recent first), with how each ended',
  flags: { string: ['channel', 'state', 'limit', 'offset'], alias: { channel: ['c'], state: ['s'] } },
  async run({ positionals, flags }, context) {
    if (positionals.length > 0) throw usageError(this, `unexpected argument "${positionals[0]}"`);
    const state = flags.state as string | undefined;
    if (state !== undefined && !(STATES as readonly string[]).includes(state)) {
      throw usageError(this, `--state must be one of ${STATES.join(', ')}, got "${state}"`);
    }
    const page = await context.client.tasks({
      channel: flags.channel as string | undefined,
      state: state as ListedState | undefined,
      limit: optionalCount(this, flags, 'limit', 1),
      offset: optionalCount(this, flags, 'offset'),
    });
    const more = page.count > page.items.length ? `\n(${page.items.length} of ${page.count}: --limit, --offset for more)` : '';
    print(context, page, page.items.length === 0 ? 'no tasks' : tasksTable(page.items, context.colors.stdout) + more);
    return 0;
  },
};
