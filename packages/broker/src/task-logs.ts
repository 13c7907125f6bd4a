import type { TaskSpec } from '@coyotes/protocol';
import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/** task-job's log record types: a line of output, or the end of one execution. */
export type LogStreamName = 'stdout' | 'stderr' | 'done';

/** One record of a task's log stream; `cursor` is its stream entry id (resume after it). */
export interface TaskLogRecord {
  cursor: string;
  stream: LogStreamName;
  data: string;
  /** Set on `done`: how the execution ended. */
  outcome?: string;
  exitCode?: number | null;
}

/** Lines kept per task stream (approximate trim): enough to replay a follower who joins late. */
export const LOG_MAX_ENTRIES = 5000;
/** How long a task's log stream outlives its last write. */
export const LOG_TTL_MS = 3_600_000;
/** The window of a channel's log byte budget: as long as a stream lives, so about two windows' worth can be alive. */
export const LOG_CHANNEL_WINDOW_MS = LOG_TTL_MS;

/** Byte budgets of the log streams (`-log-stream-task-bytes`, `-log-stream-channel-bytes`). */
export interface LogBudget {
  /** Bytes of lines one task's stream may hold. */
  taskBytes: number;
  /** Bytes of lines a channel's tasks may stream per window (LOG_CHANNEL_WINDOW_MS). */
  channelBytes: number;
}

/** Upper bounds (seconds) of the execution-duration histogram buckets kept in Redis. */
export const DURATION_BUCKETS_S = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600] as const;

/** The histogram field an execution of this duration counts in. */
export function durationBucket(durationMs: number): string {
  const le = DURATION_BUCKETS_S.find((bound) => durationMs / 1000 <= bound);
  return le === undefined ? 'le:+Inf' : `le:${le}`;
}

/**
 * Live output of running tasks: a capped Redis stream per task that runners append to (and the
 * result's completeTask closes with a `done` record) and
 * followers read with XREAD BLOCK (`GET /tasks/:id/logs`), in the task's channel slot.
 */
export class TaskLogs {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    readonly budget: LogBudget,
  ) {}

  /**
   * Appends output lines in one round trip, within the task's and the channel's byte budgets;
   * answers the bytes dropped for lack of budget (0 when every line was written).
   */
  async append(spec: Pick<TaskSpec, 'id' | 'channel'>, lines: { stream: 'stdout' | 'stderr'; data: string }[]): Promise<number> {
    if (lines.length === 0) return 0;
    const { channel, id } = spec;
    return this.redis.appendTaskLog(
      this.keys.taskLog(channel, id),
      this.keys.taskLogBytes(channel, id),
      this.keys.channelLogBytes(channel),
      this.budget.taskBytes,
      this.budget.channelBytes,
      LOG_TTL_MS,
      LOG_CHANNEL_WINDOW_MS,
      LOG_MAX_ENTRIES,
      ...lines.flatMap((line) => [line.stream, line.data]),
    );
  }

  /** Appends one note of Coyotes' own (a truncation marker) outside the budgets. */
  async note(spec: Pick<TaskSpec, 'id' | 'channel'>, text: string): Promise<void> {
    const key = this.keys.taskLog(spec.channel, spec.id);
    await this.redis.pipeline().xadd(key, 'MAXLEN', '~', LOG_MAX_ENTRIES, '*', 's', 'stderr', 'd', text).pexpire(key, LOG_TTL_MS).exec();
  }

  /** Up to 500 records after `cursor` ('0' = from the start), without waiting (followers poll). */
  async read(channel: string, id: string, cursor: string): Promise<TaskLogRecord[]> {
    const reply = (await this.redis.xread('COUNT', 500, 'STREAMS', this.keys.taskLog(channel, id), cursor)) as
      [string, [string, string[]][]][] | null;
    if (!reply) return [];
    return reply[0]![1].map(([entryId, flat]) => {
      const fields = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!);
      const stream = (fields.get('s') ?? 'stdout') as LogStreamName;
      const record: TaskLogRecord = { cursor: entryId, stream, data: fields.get('d') ?? '' };
      if (stream === 'done') {
        record.outcome = fields.get('o') ?? '';
        const exit = fields.get('x');
        record.exitCode = exit === undefined || exit === '' ? null : Number(exit);
      }
      return record;
    });
  }

  /** The execution-duration histogram of a channel: per-bucket counts (not cumulative), sum and count. */
  async durations(channel: string): Promise<{ buckets: Map<string, number>; sumMs: number; count: number }> {
    const raw = await this.redis.hgetall(this.keys.channel(channel).durations);
    const buckets = new Map<string, number>();
    for (const [field, value] of Object.entries(raw)) if (field.startsWith('le:')) buckets.set(field.slice(3), Number(value));
    return { buckets, sumMs: Number(raw.sum_ms ?? 0), count: Number(raw.count ?? 0) };
  }
}
