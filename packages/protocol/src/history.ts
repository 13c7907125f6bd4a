import type { TaskResult, TaskSpec } from './task.js';
import { commandLine, unranResult } from './task.js';

/** How one execution of a task ended, as the history keeps it. */
export type RunStatus = 'succeeded' | 'failed' | 'killed' | 'timed out' | 'cancelled';

export const RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'killed', 'timed out', 'cancelled'];

/**
 * One execution of a task, as the completion script writes it to the history outbox and the
 * history writer copies it to SQL. The script adds `attempt` (it alone knows the task's re-runs).
 */
export interface HistoryRecord {
  taskId: string;
  /** 1 for the first execution, one more for each re-run after a failure. */
  attempt: number;
  channel: string;
  command: string;
  status: RunStatus;
  exitCode: number | null;
  signal: string | null;
  /** The node id that ran it, and its host name. */
  node: string;
  host: string;
  /** Unix ms: accepted, started, finished. */
  queuedAt: number;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  stdoutTail: string;
  stderrTail: string;
  error: string | null;
  /** The schedule that made the task, when one did. */
  schedule: string | null;
}

/** A run as `GET /history` answers it: the API's snake_case names, RFC 3339 times (the api, CLI and dashboard share it). */
export interface HistoryRunView {
  task_id: string;
  attempt: number;
  channel: string;
  command: string;
  status: RunStatus;
  exit_code: number | null;
  signal: string | null;
  node: string;
  host: string;
  queued_at: string;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  stdout_tail: string;
  stderr_tail: string;
  error: string | null;
  schedule: string | null;
}

/** A row of `GET /history/stats`: one channel (and command, when grouped by it). */
export interface RunStatsView {
  channel: string;
  command?: string;
  runs: number;
  failures: number;
  failure_rate: number;
  p50_ms: number;
  p95_ms: number;
}

/** A result's status in the history: killed by an operator, timed out, or a plain success or failure. */
export function runStatus(result: TaskResult, success: boolean): RunStatus {
  if (result.outcome === 'killed') return 'killed';
  if (result.outcome === 'timed-out') return 'timed out';
  return success ? 'succeeded' : 'failed';
}

/** The history record of one execution, all but its attempt number. */
export function historyRecord(spec: TaskSpec, result: TaskResult, success: boolean): Omit<HistoryRecord, 'attempt'> {
  return {
    taskId: spec.id,
    channel: spec.channel,
    command: commandLine(spec),
    status: runStatus(result, success),
    exitCode: result.exitCode,
    signal: result.signal,
    node: result.nodeId,
    host: result.host,
    queuedAt: spec.createdAt,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    durationMs: result.durationMs,
    stdoutTail: result.stdoutTail,
    stderrTail: result.stderrTail,
    error: result.error ?? null,
    // set by schedules (another feature) on the specs they enqueue
    schedule: (spec as { schedule?: unknown }).schedule === undefined ? null : String((spec as { schedule?: unknown }).schedule),
  };
}

/**
 * The history record of a task cancelled before it ran, all but its attempt number: it never
 * started, so it starts and finishes when it was cancelled, lasts 0 ms and names no node.
 */
export function cancelledRecord(spec: TaskSpec, nowMs: number): Omit<HistoryRecord, 'attempt'> {
  const result = unranResult('exited', nowMs);
  return { ...historyRecord(spec, result, false), status: 'cancelled' };
}
