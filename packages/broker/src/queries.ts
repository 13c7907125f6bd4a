import type { TaskResult, TaskSpec, TaskState } from '@coyotes/protocol';
import type { Keys } from './keys.js';
import { readableSpec } from './spec-codec.js';
import { claimedAt } from './tasks.js';
import type { ScriptedRedis } from './scripts.js';
import { throughputMinutes } from './throughput.js';
import type { ThroughputMinute } from './throughput.js';

/** Everything known about one task. */
export interface TaskView {
  spec: TaskSpec;
  state: TaskState;
  /** The last execution's result, if it ran. */
  result: TaskResult | null;
  /** Re-runs after failures so far, automatic and manual (crash recoveries are not retries). */
  retries: number;
  /** Unix ms it entered the failed list. */
  failedAt: number | null;
  /** Unix ms it was cancelled. */
  cancelledAt: number | null;
  /** Unix ms it is due (delayed tasks and retries in backoff). */
  dueAt: number | null;
  /** Unix ms its current execution was claimed (running tasks). */
  runningSince: number | null;
}

export interface Page {
  offset: number;
  limit: number;
}

export interface ChannelCounts {
  queued: number;
  running: number;
  delayed: number;
  failed: number;
  done: number;
  /** Cancelled tasks whose record is kept. */
  cancelled: number;
}

/** The re-runs part of a stored retry count ('<re-runs>:<automatic this round>', or a bare number from older versions). */
const retriesTotal = (stored: string | null): number => (stored === null ? 0 : Number.parseInt(stored, 10) || 0);

const parse = <T>(json: string | null | undefined): T | null => (json ? (JSON.parse(json) as T) : null);

/** Read side of the task store: lookups and paginated listings, never a full scan of a queue. */
export class TaskQueries {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  async get(channel: string, id: string): Promise<TaskView | null> {
    const k = this.keys.channel(channel);
    const replies = await this.redis
      .pipeline()
      .hget(k.tasks, id)
      .hget(k.running, id)
      .zscore(k.delayed, id)
      .zscore(k.failed, id)
      .zscore(k.done, id)
      .hget(k.results, id)
      .hget(k.retries, id)
      .zscore(k.cancelled, id)
      .zscore(k.leases, id)
      .exec();
    const value = (i: number): unknown => {
      const [error, reply] = replies![i]!;
      if (error) throw error;
      return reply;
    };
    const json = value(0) as string | null;
    if (json === null) return null;
    const spec = readableSpec(json, id, channel);
    const failedAt = value(3) === null ? null : Number(value(3));
    const dueAt = value(2) === null ? null : Number(value(2));
    const cancelledAt = value(7) === null ? null : Number(value(7));
    let state: TaskState = 'queued';
    // running means a live lease: one that lapsed (its host died) is about to be queued again
    const leased = value(1) !== null && Number(value(8) ?? 0) > Date.now();
    const token = leased ? (value(1) as string) : null;
    if (token !== null) state = 'running';
    else if (cancelledAt !== null) state = 'cancelled';
    else if (failedAt !== null) state = 'failed';
    else if (value(4) !== null) state = 'succeeded';
    else if (dueAt !== null) state = 'delayed';
    return {
      spec,
      state,
      result: parse<TaskResult>(value(5) as string | null),
      retries: retriesTotal(value(6) as string | null),
      failedAt,
      cancelledAt,
      dueAt,
      runningSince: token === null ? null : claimedAt(token),
    };
  }

  /**
   * Finds a task by id: a producer-chosen id in the channel the cross-channel index names, else
   * among the given channels.
   */
  async locate(channels: string[], id: string): Promise<TaskView | null> {
    const indexed = await this.redis.get(this.keys.producerId(id));
    const found = indexed === null ? null : await this.get(indexed, id);
    if (found) return found;
    for (const channel of channels) {
      const view = await this.get(channel, id);
      if (view) return view;
    }
    return null;
  }

  async counts(channel: string): Promise<ChannelCounts> {
    const k = this.keys.channel(channel);
    const [entries, stale, leased, running, delayed, failed, done, cancelled, published] = (await this.redis
      .pipeline()
      .llen(k.queued)
      .get(k.staleCount)
      .hlen(k.running)
      .zcount(k.leases, `(${Date.now()}`, '+inf')
      .zcard(k.delayed)
      .zcard(k.failed)
      .zcard(k.done)
      .zcard(k.cancelled)
      .zcard(k.published)
      .exec())!.map(([error, reply]) => {
      if (error) throw error;
      return Number(reply ?? 0);
    }) as [number, number, number, number, number, number, number, number, number];
    // entries of tasks cancelled while queued wait in the list until a claim drops them; a task
    // whose lease lapsed runs nowhere: it counts as queued until it is requeued
    // (with RabbitMQ as the transport, the queued list is its outbox and the published set what waits in RabbitMQ)
    return { queued: Math.max(0, entries + published - stale) + Math.max(0, leased - running), running, delayed, failed, done, cancelled };
  }

  /** Executions finished per minute over the last minutes, summed over `channels`, oldest first. */
  async throughput(channels: string[], now = Date.now()): Promise<ThroughputMinute[]> {
    const hashes = await Promise.all(channels.map((channel) => this.redis.hgetall(this.keys.channel(channel).throughput)));
    return throughputMinutes(hashes, now);
  }

  async stats(channel: string): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.keys.channel(channel).stats);
    return Object.fromEntries(Object.entries(raw).map(([name, value]) => [name, Number(value)]));
  }

  /**
   * Running tasks of a channel across every host (bounded by the slots in the cluster): those
   * with a live lease, so a task whose host died is not shown running.
   */
  async listRunning(channel: string): Promise<TaskSpec[]> {
    const k = this.keys.channel(channel);
    const ids = await this.redis.zrangebyscore(k.leases, `(${Date.now()}`, '+inf');
    return this.specs(channel, ids);
  }

  /**
   * Queued tasks, the next to run first; entries of cancelled tasks still in the list are skipped.
   * With RabbitMQ as the transport, what waits there (the published set, in publish order) comes
   * before the outbox list the relay has not published yet.
   */
  async listQueued(channel: string, page: Page): Promise<TaskSpec[]> {
    const k = this.keys.channel(channel);
    const inRabbit = await this.redis.zrange(k.published, page.offset, page.offset + page.limit - 1);
    let ids = inRabbit;
    if (inRabbit.length < page.limit) {
      const offset = inRabbit.length > 0 ? 0 : Math.max(0, page.offset - (await this.redis.zcard(k.published)));
      const count = page.limit - inRabbit.length;
      ids = [...inRabbit, ...(await this.redis.lrange(k.queued, -(offset + count), -(offset + 1))).reverse()];
    }
    if (ids.length === 0) return [];
    const stale = await this.redis.hmget(k.stale, ...ids);
    return this.specs(
      channel,
      ids.filter((_id, i) => stale[i] === null),
    );
  }

  /** Failed tasks, most recent first. */
  async listFailed(channel: string, page: Page): Promise<TaskView[]> {
    return this.listScored(channel, this.keys.channel(channel).failed, page, true);
  }

  /** Delayed tasks, the soonest due first. */
  async listDelayed(channel: string, page: Page): Promise<TaskView[]> {
    return this.listScored(channel, this.keys.channel(channel).delayed, page, false);
  }

  /** Succeeded tasks whose record is kept, most recent first. */
  async listDone(channel: string, page: Page): Promise<TaskView[]> {
    return this.listScored(channel, this.keys.channel(channel).done, page, true);
  }

  /** Cancelled tasks whose record is kept, most recent first. */
  async listCancelled(channel: string, page: Page): Promise<TaskView[]> {
    return this.listScored(channel, this.keys.channel(channel).cancelled, page, true);
  }

  private async listScored(channel: string, key: string, page: Page, newestFirst: boolean): Promise<TaskView[]> {
    const stop = page.offset + page.limit - 1;
    const flat = newestFirst
      ? await this.redis.zrevrange(key, page.offset, stop, 'WITHSCORES')
      : await this.redis.zrange(key, page.offset, stop, 'WITHSCORES');
    const views: TaskView[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const view = await this.get(channel, flat[i]!);
      if (view) views.push(view);
    }
    return views;
  }

  private async specs(channel: string, ids: string[]): Promise<TaskSpec[]> {
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.channel(channel).tasks, ...ids);
    return raw.flatMap((json, i) => (json ? [readableSpec(json, ids[i]!, channel)] : []));
  }
}
