import { EventEmitter } from 'node:events';
import type { ChannelConfig } from '@coyotes/protocol';
import { duplicateForSubscriber } from './connection.js';
import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/** Messages every process hears on the events pub/sub channel. */
export type BrokerEvent =
  | { type: 'channel-changed'; name: string }
  | { type: 'delayed'; channel: string; dueMs: number }
  | { type: 'kill'; channel: string; taskId: string };

/** The channel definitions shared by every master, in one Redis hash, with change events. */
export class ChannelRegistry {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  async list(): Promise<ChannelConfig[]> {
    const raw = await this.redis.hgetall(this.keys.channels);
    return Object.values(raw)
      .map((json) => JSON.parse(json) as ChannelConfig)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<ChannelConfig | null> {
    const json = await this.redis.hget(this.keys.channels, name);
    return json ? (JSON.parse(json) as ChannelConfig) : null;
  }

  /** Creates the channel unless it exists; answers whether it did. */
  async createIfMissing(config: ChannelConfig): Promise<boolean> {
    const created = (await this.redis.hsetnx(this.keys.channels, config.name, JSON.stringify(config))) === 1;
    if (created) {
      await this.writePausedFlag(config);
      await this.publish({ type: 'channel-changed', name: config.name });
    }
    return created;
  }

  async put(config: ChannelConfig): Promise<void> {
    // the flag first: a pause holds before anyone can read the new definition
    await this.writePausedFlag(config);
    await this.redis.hset(this.keys.channels, config.name, JSON.stringify(config));
    await this.publish({ type: 'channel-changed', name: config.name });
  }

  /** The claim script's view of `paused`, in the channel's own slot. */
  private async writePausedFlag(config: ChannelConfig): Promise<void> {
    const key = this.keys.channel(config.name).paused;
    if (config.paused) await this.redis.set(key, '1');
    else await this.redis.del(key);
  }

  /** Removes the definition; the channel's queued tasks stay in Redis until it is created again. */
  async remove(name: string): Promise<boolean> {
    const removed = (await this.redis.hdel(this.keys.channels, name)) === 1;
    await this.redis.del(this.keys.channel(name).paused);
    if (removed) await this.publish({ type: 'channel-changed', name });
    return removed;
  }

  async publish(event: BrokerEvent): Promise<void> {
    await this.redis.publish(this.keys.events, JSON.stringify(event));
  }
}

/** Listens to the events channel on a connection of its own (a subscriber can do nothing else). */
export class EventSubscriber extends EventEmitter<{ event: [BrokerEvent]; resubscribed: [] }> {
  private constructor(private readonly connection: ScriptedRedis) {
    super();
  }

  static async open(base: ScriptedRedis, keys: Keys): Promise<EventSubscriber> {
    const connection = duplicateForSubscriber(base);
    const subscriber = new EventSubscriber(connection);
    connection.on('message', (_channel: string, message: string) => {
      try {
        subscriber.emit('event', JSON.parse(message) as BrokerEvent);
      } catch {
        // not ours: ignore
      }
    });
    // after a reconnect, messages may have been missed: owners reconcile on this
    connection.on('ready', () => subscriber.emit('resubscribed'));
    await connection.subscribe(keys.events);
    return subscriber;
  }

  async close(): Promise<void> {
    this.connection.disconnect();
  }
}
