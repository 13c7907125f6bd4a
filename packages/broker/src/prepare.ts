import { createHash } from 'node:crypto';
import type { Keys } from './keys.js';
import { LPUSHED } from './scripts.js';
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
    return this.redis.claimListEntries(this.keys.prepareQueue, this.keys.prepareInFlight(nodeId), max, ...LPUSHED);
  }

  /** Forgets the in-flight entries once every one is enqueued or dead-lettered. */
  async release(nodeId: string): Promise<void> {
    await this.redis.del(this.keys.prepareInFlight(nodeId));
  }

  /** Gives a node's in-flight entries back to the ingress list; answers how many. */
  async recover(nodeId: string): Promise<number> {
    return this.redis.recoverListEntries(this.keys.prepareQueue, this.keys.prepareInFlight(nodeId), ...LPUSHED);
  }

  async depth(): Promise<number> {
    return this.redis.llen(this.keys.prepareQueue);
  }

  /** Adds an entry as a producer's LPUSH would: the dispatcher reads it through the same door. */
  async add(entry: string): Promise<void> {
    await this.redis.lpush(this.keys.prepareQueue, entry);
  }
}

/** A producer entry that could not become a task, kept with the reason. */
export interface DeadLetter {
  reason: string;
  payload: string;
  at: number;
  nodeId: string;
}

/** A dead letter as listed: with the id that `take` finds it by. */
export type ListedDeadLetter = DeadLetter & { id: string };

const DEAD_LETTER_LIMIT = 10_000;

/**
 * A letter's id: a digest of the stored entry, so letters written before ids existed have one
 * too, and an id names the same letter on every host without another key to keep in step.
 */
const letterId = (json: string): string => createHash('sha1').update(json).digest('hex').slice(0, 16);

const listed = (json: string): ListedDeadLetter => ({ id: letterId(json), ...(JSON.parse(json) as DeadLetter) });

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

  async list(offset: number, limit: number): Promise<{ total: number; items: ListedDeadLetter[] }> {
    const [total, items] = await Promise.all([
      this.redis.llen(this.keys.deadLetters),
      this.redis.lrange(this.keys.deadLetters, offset, offset + limit - 1),
    ]);
    return { total, items: items.map(listed) };
  }

  /** The letter of this id, or null (reads the whole list: it is capped at DEAD_LETTER_LIMIT). */
  async get(id: string): Promise<ListedDeadLetter | null> {
    const raw = (await this.redis.lrange(this.keys.deadLetters, 0, -1)).find((json) => letterId(json) === id);
    return raw === undefined ? null : listed(raw);
  }

  /**
   * Removes the letter of this id and answers it; null when there is none, or when a concurrent
   * request removed it first (LREM answers 0), so one letter is requeued at most once.
   */
  async take(id: string): Promise<ListedDeadLetter | null> {
    const raw = (await this.redis.lrange(this.keys.deadLetters, 0, -1)).find((json) => letterId(json) === id);
    if (raw === undefined) return null;
    return (await this.redis.lrem(this.keys.deadLetters, 1, raw)) === 1 ? listed(raw) : null;
  }

  /** Puts a taken letter back (its requeue failed), keeping its id. */
  async restore(letter: ListedDeadLetter): Promise<void> {
    const { id: _id, ...stored } = letter;
    await this.redis.lpush(this.keys.deadLetters, JSON.stringify(stored));
  }
}
