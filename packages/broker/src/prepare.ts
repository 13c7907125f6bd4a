import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * The seed's ingress list (`task:prepare:queue`). Entries move atomically into a per-node
 * in-flight list before they are dispatched, so a master killed mid-dispatch loses none:
 * its in-flight list is given back when it restarts or when another master sees it dead.
 */
export class PrepareQueue {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  /** Takes up to `max` entries, oldest first, into this node's in-flight list. */
  async claim(nodeId: string, max: number): Promise<string[]> {
    return this.redis.claimPrepared(this.keys.prepareQueue, this.keys.prepareInFlight(nodeId), max);
  }

  /** Forgets the in-flight entries once every one is enqueued or dead-lettered. */
  async release(nodeId: string): Promise<void> {
    await this.redis.del(this.keys.prepareInFlight(nodeId));
  }

  /** Gives a node's in-flight entries back to the ingress list; answers how many. */
  async recover(nodeId: string): Promise<number> {
    return this.redis.recoverPrepared(this.keys.prepareQueue, this.keys.prepareInFlight(nodeId));
  }

  async depth(): Promise<number> {
    return this.redis.llen(this.keys.prepareQueue);
  }
}

/** A producer entry that could not become a task, kept with the reason. */
export interface DeadLetter {
  reason: string;
  payload: string;
  at: number;
  nodeId: string;
}

const DEAD_LETTER_LIMIT = 10_000;

/** Malformed ingress entries, newest first, capped so a broken producer cannot fill Redis. */
export class DeadLetters {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  async add(letter: DeadLetter): Promise<void> {
    await this.redis
      .pipeline()
      .lpush(this.keys.deadLetters, JSON.stringify(letter))
      .ltrim(this.keys.deadLetters, 0, DEAD_LETTER_LIMIT - 1)
      .exec();
  }

  async list(offset: number, limit: number): Promise<{ total: number; items: DeadLetter[] }> {
    const [total, items] = await Promise.all([
      this.redis.llen(this.keys.deadLetters),
      this.redis.lrange(this.keys.deadLetters, offset, offset + limit - 1),
    ]);
    return { total, items: items.map((json) => JSON.parse(json) as DeadLetter) };
  }
}
