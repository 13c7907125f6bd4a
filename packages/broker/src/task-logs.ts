import type { TaskResult, TaskSpec } from '@coyotes/protocol';
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
const LOG_MAX_ENTRIES = 5000;
/** How long a task's log stream outlives its last write. */
const LOG_TTL_MS = 3_600_000;

/** Upper bounds (seconds) of the execution-duration histogram buckets kept in Redis. */
export const DURATION_BUCKETS_S = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600] as const;

/**
 * Live output of running tasks: a capped Redis stream per task that runners append to and
 * followers read with XREAD BLOCK (`GET /tasks/:id/logs`), in the task's channel slot.
 */
export class TaskLogs {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  /** Appends output lines in one round trip. */
  async append(spec: Pick<TaskSpec, 'id' | 'channel'>, lines: { stream: 'stdout' | 'stderr'; data: string }[]): Promise<void> {
    if (lines.length === 0) return;
    const key = this.keys.taskLog(spec.channel, spec.id);
    const pipeline = this.redis.pipeline();
    for (const line of lines) pipeline.xadd(key, 'MAXLEN', '~', LOG_MAX_ENTRIES, '*', 's', line.stream, 'd', line.data);
    pipeline.pexpire(key, LOG_TTL_MS);
    await pipeline.exec();
  }

  /**
   * Records the end of one execution: the `done` record, the duration histogram, and a nudge
   * that makes the task's result callback (if any) due now.
   */
  async end(spec: Pick<TaskSpec, 'id' | 'channel' | 'callback'>, result: TaskResult): Promise<void> {
    const k = this.keys.channel(spec.channel);
    const key = this.keys.taskLog(spec.channel, spec.id);
    const seconds = result.durationMs / 1000;
    const bucket = DURATION_BUCKETS_S.find((le) => seconds <= le);
    const pipeline = this.redis
      .pipeline()
      .xadd(key, 'MAXLEN', '~', LOG_MAX_ENTRIES, '*', 's', 'done', 'd', '', 'o', result.outcome, 'x', String(result.exitCode ?? ''))
      .pexpire(key, LOG_TTL_MS)
      .hincrby(k.durations, bucket === undefined ? 'le:+Inf' : `le:${bucket}`, 1)
      .hincrby(k.durations, 'sum_ms', result.durationMs)
      .hincrby(k.durations, 'count', 1);
    // XX: only a callback armed at acceptance; LT: only ever brought forward
    if (spec.callback) pipeline.zadd(k.callbacks, 'XX', 'LT', Date.now() + 250, spec.id);
    await pipeline.exec();
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
