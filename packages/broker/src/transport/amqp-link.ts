import { connect } from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import { CoyotesError, redactUrl } from '@coyotes/protocol';

/** What a link needs on each (re)connection: a channel to consume on, one with publisher confirms. */
export interface AmqpChannels {
  consume: Channel;
  publish: ConfirmChannel;
}

const reconnectDelayMs = (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 6), 5000);

/** How long a start-up check waits for RabbitMQ before it gives up. */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * Socket options of every connection. amqplib leaves Nagle's algorithm on: a publish's frames
 * then wait for the server's delayed ACK, 40 ms per lone message on a quorum queue
 * (bench/rabbitmq-hop.ts: publish → delivery p50 44 ms with Nagle, 1.1 ms without).
 */
const SOCKET = { timeout: CHECK_TIMEOUT_MS, noDelay: true };

/** The arguments that make a queue a quorum queue (replicated, durable; one node works too). */
export const QUORUM_QUEUE = { durable: true, arguments: { 'x-queue-type': 'quorum' } } as const;

/**
 * Checks once, at start, that -broker-url's RabbitMQ answers and takes the login: a wrong URL
 * fails the start with one line instead of a reconnect loop.
 */
export async function checkAmqp(url: string): Promise<void> {
  let connection: ChannelModel | undefined;
  try {
    connection = await connect(url, SOCKET);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new CoyotesError('COY_ERR_BROKER_UNREACHABLE', `broker-url ${redactUrl(url)}: ${reason}`, { cause: error });
  }
  await connection.close().catch(() => undefined);
}

/**
 * One AMQP connection that comes back: amqplib does not reconnect, so a lost connection (a
 * RabbitMQ restart, a network cut) is reopened here with backoff (capped at 5 s), and `setUp`
 * runs again on the new channels (queues declared, consumers started). Deliveries of the lost
 * connection are gone: RabbitMQ redelivers what they carried.
 */
export class AmqpLink {
  private channels: AmqpChannels | undefined;
  private closed = false;
  private attempt = 0;
  private opening: Promise<void> | undefined;
  /** `open` is looping: a connection lost meanwhile is its to retry, not a second loop's. */
  private connecting = false;
  private model: ChannelModel | undefined;
  /** Bumped on each connection: a delivery remembers which one it came on (its tag means nothing on another). */
  generation = 0;

  constructor(
    private readonly url: string,
    private readonly setUp: (channels: AmqpChannels) => Promise<void>,
    private readonly warn: (message: string, error?: unknown, event?: string) => void,
  ) {}

  start(): void {
    this.opening ??= this.open();
  }

  /** The current channels, or undefined while reconnecting. */
  get current(): AmqpChannels | undefined {
    return this.channels;
  }

  /** Resolves once a connection is up (or the link is closed). */
  async ready(): Promise<void> {
    while (!this.closed && !this.channels) {
      this.start();
      await this.opening;
    }
  }

  private async open(): Promise<void> {
    this.connecting = true;
    try {
      await this.connectLoop();
    } finally {
      this.connecting = false;
    }
  }

  private async connectLoop(): Promise<void> {
    while (!this.closed) {
      let connection: ChannelModel | undefined;
      try {
        connection = await connect(this.url, SOCKET);
        this.model = connection;
        const channels = { consume: await connection.createChannel(), publish: await connection.createConfirmChannel() };
        const lost = (error?: unknown) => {
          if (this.channels !== channels) return;
          this.channels = undefined;
          // lost while setting up (a queue declared otherwise by someone else closes the channel):
          // the loop setting up retries it with backoff; a second loop would double at each failure
          if (this.closed || this.connecting) return;
          this.warn('RabbitMQ connection lost; reconnecting', error, 'rabbitmq-reconnecting');
          void connection!.close().catch(() => undefined);
          this.opening = this.open();
        };
        connection.on('error', () => undefined);
        connection.on('close', lost);
        for (const channel of [channels.consume, channels.publish]) {
          channel.on('error', () => undefined);
          channel.on('close', lost);
        }
        this.generation += 1;
        this.channels = channels;
        await this.setUp(channels);
        if (this.channels !== channels) throw new Error('RabbitMQ closed the connection or a channel while it was being set up');
        this.attempt = 0;
        if (this.closed) await connection.close().catch(() => undefined);
        return;
      } catch (error) {
        if (this.channels) this.channels = undefined;
        await connection?.close().catch(() => undefined);
        this.attempt += 1;
        if (this.closed) return;
        if (this.attempt === 1 || this.attempt % 10 === 0) this.warn('RabbitMQ unavailable; retrying', error, 'rabbitmq-unavailable');
        await new Promise((resolve) => setTimeout(resolve, reconnectDelayMs(this.attempt)));
      }
    }
  }

  /** Drops the current connection, saying why: a new one sets everything up again (logged as `rabbitmq-reconnecting`). */
  reset(reason: string): void {
    if (!this.channels) return;
    this.warn(reason);
    void this.model?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels = undefined;
    await this.model?.close().catch(() => undefined);
  }
}
