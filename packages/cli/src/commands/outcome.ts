import type { ChannelStats, CoyotesClient, TaskDetail } from '../client.js';
import { FINAL_STATES } from '../client.js';
import type { Colors } from '../colors.js';
import { taskExitCode } from './exit-code.js';
import type { VerbContext } from './verb.js';

/** A duration as people read it: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')} min`;
}

/** How a finished task ended, in a few words: `exit code 2`, `killed by SIGTERM`, `timed out (5 s)`. */
export function describeEnd(task: Pick<TaskDetail, 'status' | 'result' | 'timeout'>): string {
  const result = task.result;
  if (task.status === 'cancelled' && (!result || result.outcome === 'exited')) return 'cancelled before it ran';
  if (!result) return task.status;
  switch (result.outcome) {
    case 'exited':
      return `exit code ${result.exit_code ?? '?'}`;
    case 'signaled':
      return `killed by ${result.signal ?? 'a signal'}`;
    case 'killed':
      return `killed on request (${result.signal ?? 'SIGKILL'})`;
    case 'timed-out':
      return `timed out${task.timeout ? ` after its ${task.timeout} s timeout` : ''} (${result.signal ?? 'SIGKILL'})`;
    case 'spawn-error':
      return 'could not start';
    case 'poison':
      return 'given up: its runner died running it too many times';
  }
}

/**
 * The one line that says how a followed task ended, for stderr: its state, how it ended, how
 * long it ran and the exit code the verb returns (`coyotes: task X failed: exit code 2 after
 * 1.2 s (exit 2)`).
 */
export function outcomeLine(task: TaskDetail, c: Colors): string {
  const took = task.result ? ` after ${formatDuration(task.result.duration_ms)}` : '';
  const state = task.status === 'succeeded' ? c.green(task.status) : task.status === 'failed' ? c.red(task.status) : c.yellow(task.status);
  return `coyotes: task ${task.task_id} ${state}: ${describeEnd(task)}${took} ${c.dim(`(exit ${taskExitCode(task)})`)}\n`;
}

/** How long a queued task is watched before it is said to be waiting: a free slot takes it within a few ms. */
const QUIET_WAIT_MS = 1500;
const POLL_MS = 100;

/**
 * Says once, on stderr, what a task that has not started is waiting for: its due time, a paused
 * channel, or busy slots. Quiet when it starts soon (as nearly every push does). Answers when
 * the task is running or has finished, or once the reason is said.
 */
export async function announceWait(client: CoyotesClient, id: string, context: VerbContext): Promise<void> {
  const deadline = Date.now() + QUIET_WAIT_MS;
  for (;;) {
    const task = await client.task(id);
    if (task.status === 'running' || FINAL_STATES.has(task.status)) return;
    const { channels } = await client.stats();
    const channel = channels.find((row) => row.name === task.channel);
    const reason = waitReason(task, channel);
    // a delayed task or a paused channel is said at once; busy slots only once they have stayed busy
    if (reason !== null && (task.status === 'delayed' || channel?.paused === true || Date.now() >= deadline)) {
      context.stderr(`coyotes: ${context.colors.stderr.yellow('waiting')}: ${reason}\n`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function waitReason(task: TaskDetail, channel: ChannelStats | undefined): string | null {
  if (task.status === 'delayed') return `task ${task.task_id} is delayed until ${task.execute_at ?? 'its due time'}`;
  if (channel === undefined) return `task ${task.task_id} is ${task.status} in channel ${task.channel}, which no longer exists`;
  if (channel.paused)
    return `channel ${channel.name} is paused: task ${task.task_id} starts once it is resumed (coyotes channels resume ${channel.name})`;
  const slots = channel.global_workers > 0 ? `${channel.global_workers} across every host` : `${channel.workers} per host`;
  return `task ${task.task_id} is queued in ${channel.name}: ${channel.running} running of ${slots}, ${channel.queued} queued`;
}
