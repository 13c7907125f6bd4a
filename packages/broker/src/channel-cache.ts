import type { ChannelConfig } from '@coyotes/protocol';
import type { Broker } from './broker.js';
import type { EventSubscriber } from './channels.js';

/**
 * Channel definitions kept in memory by a process that reads them on every request (the api):
 * an entry is dropped on the registry's `channel-changed` event, and nothing is cached while the
 * event subscription is not live (a reconnect may have missed events). Saves a Redis round trip
 * per push; a change made through another host is seen once its event arrives (milliseconds).
 */
export class ChannelCache {
  private readonly known = new Map<string, ChannelConfig>();
  private events: EventSubscriber | undefined;
  private live = false;
  private closed = false;

  constructor(private readonly broker: Broker) {
    void broker.subscribe().then(
      (events) => {
        if (this.closed) return void events.close();
        this.events = events;
        this.live = true;
        events.on('event', (event) => {
          if (event.type === 'channel-changed') this.known.delete(event.name);
        });
        events.on('resubscribed', () => this.known.clear());
      },
      () => undefined,
    );
  }

  /** The channel's definition, from memory when the subscription vouches for it. */
  async get(name: string): Promise<ChannelConfig | null> {
    const hit = this.known.get(name);
    if (hit) return hit;
    const channel = await this.broker.channels.get(name);
    if (channel && this.live) this.known.set(name, channel);
    return channel;
  }

  /** Forgets a channel this process just changed, without waiting for its event. */
  forget(name: string): void {
    this.known.delete(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.events?.close();
  }
}
