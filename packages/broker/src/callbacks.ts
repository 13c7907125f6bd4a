import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * Result callbacks waiting to be delivered, one zset per channel (id → ms next due). A callback
 * is armed when its task is accepted, before the task is queued, so it lives exactly as long as
 * the task's record: a crash anywhere loses it no more than it loses the task. The end of an
 * execution brings it forward; whoever delivers it checks the task has really finished.
 */
export class CallbackOutbox {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  /**
   * Arms a task's callback, first due at `dueMs` (a safety net; an execution's end nudges it).
   * NX: an id taken by another task keeps that task's entry (the deliverer drops strays).
   */
  async arm(channel: string, id: string, dueMs: number): Promise<void> {
    await this.redis.zadd(this.keys.channel(channel).callbacks, 'NX', dueMs, id);
  }

  /** Leases up to `count` due callbacks for `leaseMs`; answers their task ids. */
  async claimDue(channel: string, leaseMs: number, count: number): Promise<string[]> {
    return this.redis.claimCallbacks(this.keys.channel(channel).callbacks, Date.now(), leaseMs, count);
  }

  /** Looks again at `dueMs` (task not finished yet, or delivery failed); answers attempts so far when `failed`. */
  async postpone(channel: string, id: string, dueMs: number, failed: boolean): Promise<number> {
    const k = this.keys.channel(channel);
    const pipeline = this.redis.pipeline().zadd(k.callbacks, 'XX', dueMs, id);
    if (failed) pipeline.hincrby(k.callbackAttempts, id, 1);
    const replies = await pipeline.exec();
    return failed ? Number(replies?.[1]?.[1] ?? 0) : 0;
  }

  /** Delivered, given up, or its task is gone: forget it. */
  async settle(channel: string, id: string): Promise<void> {
    const k = this.keys.channel(channel);
    await this.redis.pipeline().zrem(k.callbacks, id).hdel(k.callbackAttempts, id).exec();
  }

  /** Callbacks not delivered yet in a channel. */
  async pending(channel: string): Promise<number> {
    return this.redis.zcard(this.keys.channel(channel).callbacks);
  }
}
