import type { Broker } from '@coyotes/broker';
import type { ChannelConfig } from '@coyotes/protocol';

/**
 * Channel definitions for one batch of producers' entries: this master's copy, else Redis. A
 * channel created a moment ago through another process is in Redis before this master hears of
 * it (the channel-changed event), and an entry pushed right after its creation must not be
 * dead-lettered or sent elsewhere for that. Each name is read from Redis once per batch.
 */
export class BatchChannels {
  private readonly read = new Map<string, ChannelConfig | null>();

  constructor(
    private readonly local: (name: string) => ChannelConfig | undefined,
    private readonly broker: Pick<Broker, 'channels'>,
  ) {}

  async get(name: string): Promise<ChannelConfig | undefined> {
    const known = this.local(name);
    if (known) return known;
    if (!this.read.has(name)) this.read.set(name, await this.broker.channels.get(name));
    return this.read.get(name) ?? undefined;
  }
}
