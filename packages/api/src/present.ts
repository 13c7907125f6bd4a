import type { TaskView } from '@coyotes/broker';
import { shownCommandLine } from '@coyotes/protocol';
import type { ChannelConfig, TaskResultView, TaskSpec } from '@coyotes/protocol';

/** Go's zero time, which the seed shows for "never". */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** RFC 3339 with the host's UTC offset, as the seed's Go server printed times. */
export function rfc3339(ms: number | null): string {
  if (ms === null) return ZERO_TIME;
  const date = new Date(ms);
  const offsetMin = -date.getTimezoneOffset();
  // Go's RFC3339Nano: the fraction loses its trailing zeros (and its dot when nothing is left)
  const local = new Date(ms + offsetMin * 60_000)
    .toISOString()
    .slice(0, -1)
    .replace(/\.?0+$/, '');
  if (offsetMin === 0) return `${local}Z`;
  const sign = offsetMin > 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** The seed's `command` object: args null when there are none. */
function seedCommand(spec: TaskSpec): { name: string; args: string[] | null } {
  if (!spec.command) return { name: spec.name, args: null };
  return { name: spec.command.name, args: spec.command.args.length > 0 ? spec.command.args : null };
}

/** A task in the seed's listing shape (`GET /channels`). */
export function seedListed(
  spec: TaskSpec,
  status: 'queued' | 'running',
): { task_name: string; channel: string; status: string; task_id: string } {
  // the seed's three fields first; task_id after them (additive) so a listed task can be acted on
  return { task_name: spec.name, channel: spec.channel, status, task_id: spec.id };
}

/** The fields every seed task object starts with, in the seed's order. */
function seedTask(view: TaskView) {
  return {
    task_id: view.spec.id,
    task_name: view.spec.name,
    command: seedCommand(view.spec),
    channel: view.spec.channel,
    status: '',
  };
}

/** A failed task in the seed's shape (`/channels/:name/failed-tasks`). */
export function seedFailed(view: TaskView) {
  return { ...seedTask(view), retry_count: view.retries, failed_at: rfc3339(view.failedAt) };
}

/** A delayed task in the seed's shape (`/delay-tasks`): `execute_at` comes before the counts. */
export function seedDelayed(view: TaskView) {
  return { ...seedTask(view), execute_at: rfc3339(view.dueAt), retry_count: view.retries, failed_at: rfc3339(view.failedAt) };
}

/** Everything about a task (`GET /tasks/:id`). */
export function taskDetail(view: TaskView) {
  const { spec, result } = view;
  return {
    task_id: spec.id,
    task_name: spec.name,
    channel: spec.channel,
    command_line: shownCommandLine(spec),
    command: seedCommand(spec),
    status: view.state,
    retry_count: view.retries,
    created_at: rfc3339(spec.createdAt),
    execute_at: view.dueAt === null ? null : rfc3339(view.dueAt),
    failed_at: view.failedAt === null ? null : rfc3339(view.failedAt),
    cancelled_at: view.cancelledAt === null ? null : rfc3339(view.cancelledAt),
    running_since: view.runningSince === null ? null : rfc3339(view.runningSince),
    timeout: spec.timeoutMs ? spec.timeoutMs / 1000 : null,
    env: spec.env ? Object.keys(spec.env) : [],
    schedule: spec.schedule ?? null,
    result:
      result &&
      ({
        outcome: result.outcome,
        exit_code: result.exitCode,
        signal: result.signal,
        started_at: rfc3339(result.startedAt),
        finished_at: rfc3339(result.finishedAt),
        duration_ms: result.durationMs,
        host: result.host,
        node_id: result.nodeId,
        pid: result.pid,
        stdout_tail: result.stdoutTail,
        stderr_tail: result.stderrTail,
        error: result.error ?? null,
      } satisfies TaskResultView),
  };
}

/** A task in a listing (`GET /tasks`): `GET /tasks/{id}` without the output tails and env names. */
export function taskSummary(view: TaskView) {
  const { env: _env, result, ...detail } = taskDetail(view);
  if (result === null) return { ...detail, result };
  const { stdout_tail: _out, stderr_tail: _err, ...kept } = result;
  return { ...detail, result: kept };
}

/**
 * A channel's settings under the names and units a request sets them with (`worker`, `timeout`
 * in seconds, `max_retries`, `global_workers` 0 for no cap, `allowed_commands` [] for any).
 */
export function channelSettings(channel: ChannelConfig) {
  return {
    name: channel.name,
    worker: channel.workers,
    paused: channel.paused,
    distinct: channel.distinct,
    max_retries: channel.maxRetries,
    timeout: channel.timeoutMs / 1000,
    shell: channel.shell,
    global_workers: channel.globalWorkers ?? 0,
    allowed_commands: channel.allowedCommands ?? [],
  };
}
