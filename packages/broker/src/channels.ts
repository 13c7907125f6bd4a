import { EventEmitter } from 'node:events';
import type { ChannelConfig } from '@coyotes/protocol';
import { duplicateForSubscriber } from './connection.js';
import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/** Messages every process hears on the events pub/sub channel. */
export type BrokerEvent =
  | { type: 'channel-changed'; name: string }
  | { type: 'delayed'; channel: string; dueMs: number }
  | { type: 'kill'; channel: string; taskId: string }
  | { type: 'schedule-changed'; name: string };

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
    const stamp = await this.redis.updateChannel(this.keys.channels, config.name, '', JSON.stringify(config));
    if (stamp === null) return false;
    await this.writePausedFlag(config, stamp);
    await this.publish({ type: 'channel-changed', name: config.name });
    return true;
  }

  /** Writes the whole definition, whatever is stored. */
  async put(config: ChannelConfig): Promise<void> {
    await this.update(config.name, () => config);
  }

  /**
   * Read-modify-write of one channel's definition, atomic against every other writer on any host:
   * `change` gets the stored definition (null when there is none) and answers the new one; when
   * another write got in between, it runs again on that one. Lock-free: a retry means another
   * writer succeeded. Answers the definition written.
   */
  async update(name: string, change: (current: ChannelConfig | null) => ChannelConfig): Promise<ChannelConfig> {
    for (;;) {
      const json = await this.redis.hget(this.keys.channels, name);
      const next = change(json ? (JSON.parse(json) as ChannelConfig) : null);
      const stamp = await this.redis.updateChannel(this.keys.channels, name, json ?? '', JSON.stringify(next));
      if (stamp === null) continue;
      await this.writePausedFlag(next, stamp);
      await this.publish({ type: 'channel-changed', name });
      return next;
    }
  }

  /**
   * The claim script's view of `paused`, in the channel's own slot (the definitions hash may lie
   * in another cluster slot, so it cannot be one script): stamped, so that of two concurrent
   * changes the later definition's flag wins whatever order they arrive in.
   */
  private async writePausedFlag(config: ChannelConfig, stamp: string): Promise<void> {
    const keys = this.keys.channel(config.name);
    await this.redis.writePausedFlag(keys.paused, keys.pausedStamp, stamp, config.paused ? '1' : '0');
  }

  /**
   * Removes the definition; the channel's queued tasks stay in Redis until it is created again.
   * The definition is kept aside as retired while tasks of the channel may still run (they drain),
   * so that they stay visible and killable by id; see `retired()` and `forgetRetired()`.
   */
  async remove(name: string): Promise<boolean> {
    const json = await this.redis.hget(this.keys.channels, name);
    if (json === null) return false;
    await this.redis.hset(this.keys.retiredChannels, name, json);
    const removed = (await this.redis.hdel(this.keys.channels, name)) === 1;
    await this.redis.del(this.keys.channel(name).paused);
    if (removed) await this.publish({ type: 'channel-changed', name });
    return removed;
  }

  /** Deleted channels that may still have running tasks (their last definitions). */
  async retired(): Promise<ChannelConfig[]> {
    const raw = await this.redis.hgetall(this.keys.retiredChannels);
    return Object.values(raw).map((json) => JSON.parse(json) as ChannelConfig);
  }

  /** Names of the defined channels, then of the retired ones not defined again: where a task id may live. */
  async namesWithRetired(): Promise<string[]> {
    const [defined, retired] = await Promise.all([this.list(), this.retired()]);
    const names = defined.map((channel) => channel.name);
    return [...names, ...retired.map((channel) => channel.name).filter((name) => !names.includes(name))];
  }

  /** A retired channel has nothing running any more (or was created again): stop keeping it. */
  async forgetRetired(name: string): Promise<void> {
    await this.redis.hdel(this.keys.retiredChannels, name);
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
