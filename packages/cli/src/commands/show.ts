import type { TaskDetail } from '../client.js';
import type { Colors } from '../colors.js';
import { paintState } from '../colors.js';
import { taskExitCode } from './exit-code.js';
import { describeEnd, formatDuration } from './outcome.js';
import { oneTaskId, print } from './verb.js';
import type { Verb } from './verb.js';

/** Everything about a task, one `label  value` line each, then its output tails. */
export function taskReport(task: TaskDetail, c: Colors): string {
  const result = task.result;
  const lines: [string, string | null][] = [
    ['task', task.task_id],
    ['channel', task.channel],
    ['command', task.command_line],
    ['state', paintState(c, task.status)],
    ['ended', result || task.status === 'cancelled' ? `${describeEnd(task)} (exit ${taskExitCode(task)})` : null],
    ['created', task.created_at],
    ['due', task.execute_at],
    ['running since', task.running_since],
    ['started', result?.started_at ?? null],
    ['finished', result?.finished_at ?? null],
    ['took', result ? formatDuration(result.duration_ms) : null],
    ['failed at', task.failed_at],
    ['cancelled at', task.cancelled_at],
    ['node', result ? `${result.host} (${result.node_id})${result.pid === null ? '' : `, pid ${result.pid}`}` : null],
    // every run, the last included: retries count the re-runs after a failure
    ['attempts', `${task.retry_count + (result ? 1 : 0)} (${task.retry_count} ${task.retry_count === 1 ? 'retry' : 'retries'})`],
    ['timeout', task.timeout === null ? null : `${task.timeout} s`],
    ['error', result?.error ?? null],
  ];
  const shown = lines.filter((line): line is [string, string] => line[1] !== null);
  const width = Math.max(...shown.map(([label]) => label.length));
  const text = shown.map(([label, value]) => `${c.bold(label.padEnd(width))}  ${value}`);
  for (const [label, tail] of [
    ['stdout (last lines)', result?.stdout_tail],
    ['stderr (last lines)', result?.stderr_tail],
  ] as const) {
    if (tail) text.push('', c.dim(`--- ${label} ---`), tail.replace(/\n$/, ''));
  }
  return text.join('\n');
}

/** `coyotes show ID` */
export const show: Verb = {
  name: 'show',
  usage: 'coyotes show ID',
  summary: 'a task: state, how it ended (exit code or signal), times, node, attempts, output tails',
  flags: {},
  async run({ positionals }, context) {
    const id = oneTaskId(this, positionals);
    const task = await context.client.task(id);
    print(context, task, taskReport(task, context.colors.stdout));
    return 0;
  },
};
