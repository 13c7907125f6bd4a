import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * Finished runs waiting to be copied to the SQL task history, one bounded list per channel,
 * filled by the completion script itself (so a run is recorded with its result or not at all).
 * One writer at a time reads a channel's oldest runs under a lease, copies them, then trims
 * them: a writer that dies in between leaves them for the next, so copies are at least once.
 */
export class HistoryOutbox {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  /** Takes or renews the channel's lease for `leaseMs` and reads up to `count` of its oldest runs; null while another writer holds it. */
  async read(channel: string, token: string, leaseMs: number, count: number): Promise<string[] | null> {
    const k = this.keys.channel(channel);
    return this.redis.readHistory(k.historyOutbox, k.historyLock, token, leaseMs, count);
  }

  /** Drops the `count` runs just read once SQL holds them; false when the lease was lost meanwhile. */
  async ack(channel: string, token: string, count: number): Promise<boolean> {
    const k = this.keys.channel(channel);
    return (await this.redis.ackHistory(k.historyOutbox, k.historyLock, token, count)) === 1;
  }

  /** Runs waiting in a channel's outbox. */
  async depth(channel: string): Promise<number> {
    return this.redis.llen(this.keys.channel(channel).historyOutbox);
  }

  /** Runs the channel's full outbox turned away (counted by the completion script). */
  async dropped(channel: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.channel(channel).stats, 'history_dropped')) ?? 0);
  }
}
