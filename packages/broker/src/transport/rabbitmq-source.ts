import type { ConsumeMessage } from 'amqplib';
import { isCoyotesError, parseIngressEntry } from '@coyotes/protocol';
import type { ChannelConfig, TaskResult } from '@coyotes/protocol';
import type { Admission } from '../admission.js';
import type { BlockingReads } from '../blocking.js';
import type { ChannelRegistry } from '../channels.js';
import type { Keys } from '../keys.js';
import type { DeadLetters } from '../prepare.js';
import type { ScriptedRedis } from '../scripts.js';
import { decodeSpec } from '../spec-codec.js';
import type { CompletionOutcome, CompletionPolicy } from '../completion.js';
import type { ClaimedTask, TaskStore } from '../tasks.js';
import { AmqpLink, QUORUM_QUEUE } from './amqp-link.js';
import type { AmqpChannels } from './amqp-link.js';
import { rabbitHold } from './rabbitmq-hold.js';
import { RabbitRelay, TASK_HEADER } from './rabbitmq-relay.js';
import type { TaskSource, TaskSourceOptions } from './task-source.js';

/** The RabbitMQ queue of a channel: `<key prefix>.<channel>` (docs/operations.md). */
export const queueName = (keys: Keys, channel: string): string => `${keys.prefix}.${channel}`;

/** A runner says it is alive this often; it counts as dead once a beat is this old (claimDelivered-8.lua). */
const BEAT_MS = 1000;
const BEAT_TTL_MS = 5000;
/** How long a runner at the global cap waits for a slot-freed wake-up before it asks again anyway. */
const SLOT_WAIT_S = 1;

interface Delivery {
  message: ConsumeMessage;
  /** The connection it came on: its tag means nothing on another. */
  generation: number;
  /** When it arrived here (or came to stand for a task this runner already ran): the hold deadline counts from it. */
  at: number;
}

/** What a delivery became: a task to run, a delivery to keep unacked ('kept'), one at the cap, or nothing to run (ack it). */
type Taken = ClaimedTask | 'kept' | 'capped' | undefined;

/** What the RabbitMQ source needs of the broker. */
export interface RabbitDeps {
  url: string;
  redis: ScriptedRedis;
  tasks: TaskStore;
  keys: Keys;
  blocking: BlockingReads;
  /** A blocking connection of its own, for a runner waiting at the global cap. */
  blockingReads: () => BlockingReads;
  admission: Admission;
  deadLetters: DeadLetters;
  channels: ChannelRegistry;
}

/**
 * The RabbitMQ transport of one channel, in its channel process:
 *  - a relay (`RabbitRelay`) publishes the channel's queued list, the transport's outbox in
 *    Redis, to the channel's quorum queue; one node relays a channel at a time;
 *  - a consumer with prefetch = workers and manual acks; each delivery leases its task in Redis
 *    (claimDelivered-8.lua) and is acked once the task's outcome is recorded there. A message
 *    without the relay's header is a producer's (the seed's ingress JSON): it is admitted through
 *    the broker's door (distinct, delays and every check apply), then acked;
 *  - a redelivery of a message whose task still runs is not run again while its holder beats
 *    (the `alive` hash); a channel with a global cap leases a delivery only while the cluster
 *    runs fewer than the cap, and a runner that frees a slot without filling it wakes one that
 *    waits (`slotFreed`);
 *  - nothing stays unacked past the hold deadline (`holdMs`), under RabbitMQ's consumer_timeout.
 */
export class RabbitTaskSource implements TaskSource {
  private readonly link: AmqpLink;
  private readonly queue: string;
  private readonly buffered: Delivery[] = [];
  /** Redeliveries of tasks whose holder beat a moment ago: looked at again once its beat would have lapsed. */
  private readonly rechecks: Delivery[] = [];
  /** Deliveries of leased tasks, by lease token, until their outcome is recorded. */
  private readonly leased = new Map<string, Delivery>();
  private consumerTag: string | undefined;
  /** The prefetch and pause the current consumer was started with. */
  private consuming: { prefetch: number; paused: boolean } | undefined;
  /** The consumer changes, one at a time: two interleaved would each start a consumer. */
  private syncing: Promise<void> = Promise.resolve();
  private taking = true;
  /** The last claim stopped at the global cap with deliveries in hand. */
  private capped = false;
  private slotReads: BlockingReads | undefined;
  private slotWait: Promise<'woken' | null> | undefined;
  private wake: () => void = () => undefined;
  private readonly relay: RabbitRelay;
  private readonly hold = rabbitHold();
  private readonly holdMs = this.hold.ms;
  private readonly timers: NodeJS.Timeout[];

  constructor(
    private readonly deps: RabbitDeps,
    private channel: ChannelConfig,
    private readonly options: TaskSourceOptions,
  ) {
    this.queue = queueName(deps.keys, channel.name);
    if (this.hold.ignored !== undefined) options.warn(this.hold.ignored);
    this.link = new AmqpLink(deps.url, (channels) => this.setUp(channels), options.warn);
    this.link.start();
    this.relay = new RabbitRelay(deps, channel.name, this.queue, this.link, options);
    this.beat();
    this.timers = [
      setInterval(() => this.beat(), BEAT_MS),
      setInterval(() => this.enforceHoldDeadline(), Math.min(Math.max(this.holdMs / 4, 100), 30_000)),
    ];
  }

  /** Says in Redis that this runner is alive, so a redelivery of a task it runs is not run again. */
  private beat(): void {
    const now = Date.now();
    this.deps.redis
      .beatRunner(this.deps.keys.channel(this.channel.name).alive, this.options.leaseOwner, now + BEAT_TTL_MS, now)
      .catch((error: unknown) => this.options.warn('saying this runner is alive failed', error));
  }

  /** Acks deliveries of tasks running past the hold deadline, and gives back those waiting at the cap that long. */
  private enforceHoldDeadline(): void {
    const channels = this.link.current;
    if (!channels) return;
    const due = Date.now() - this.holdMs;
    for (const [token, delivery] of this.leased) {
      if (delivery.at > due) continue;
      this.leased.delete(token);
      this.ack(delivery);
    }
    for (let i = this.buffered.length - 1; i >= 0; i -= 1) {
      const delivery = this.buffered[i]!;
      if (delivery.at > due) continue;
      this.buffered.splice(i, 1);
      if (delivery.generation === this.link.generation) channels.consume.nack(delivery.message, false, true);
    }
  }

  private async setUp(channels: AmqpChannels): Promise<void> {
    // deliveries of a lost connection are RabbitMQ's again: it redelivers them
    this.buffered.length = 0;
    this.rechecks.length = 0;
    this.consumerTag = undefined;
    this.consuming = undefined;
    channels.publish.on('return', (message: ConsumeMessage) => {
      const id: unknown = message.properties.headers?.[TASK_HEADER];
      if (typeof id === 'string') this.relay.returned(id);
    });
    await channels.consume.assertQueue(this.queue, QUORUM_QUEUE);
    await this.syncConsumer();
  }

  /**
   * RabbitMQ cancelled the consumer: its queue was deleted (an operator, a policy). A new
   * connection declares it again and consumes from it (a queue of the same name declared again
   * on the old connection may leave a consumer that gets nothing, RabbitMQ 3.10); what waited in
   * the deleted queue is published again (`RabbitRelay.queueGone`).
   */
  private consumerCancelled(consumerTag: string): void {
    if (this.consumerTag !== consumerTag) return;
    void this.relay.queueGone(`RabbitMQ cancelled the consumer of queue ${this.queue} (queue deleted?); reconnecting to declare it again`);
  }

  /**
   * Starts, restarts (new prefetch) or stops the consumer to match the channel's settings, after
   * the change before it: a burst of resizes would otherwise interleave, each start a consumer and
   * leave all but the last one running (deliveries taken, and kept, while paused).
   */
  private syncConsumer(): Promise<void> {
    const next = this.syncing.then(() => this.applyConsumer());
    this.syncing = next.catch(() => undefined);
    return next;
  }

  private async applyConsumer(): Promise<void> {
    const channels = this.link.current;
    if (!channels) return;
    // a host never runs more than the global cap: it needs no more deliveries in hand than that
    const cap = this.channel.globalWorkers ?? 0;
    const prefetch = cap > 0 ? Math.min(cap, this.channel.workers) : this.channel.workers;
    const wanted = { prefetch, paused: this.channel.paused || !this.taking };
    if (this.consuming && this.consuming.prefetch === wanted.prefetch && this.consuming.paused === wanted.paused) return;
    this.consuming = wanted;
    if (this.consumerTag !== undefined) {
      const tag = this.consumerTag;
      this.consumerTag = undefined;
      await channels.consume.cancel(tag);
      // what was delivered and not claimed goes back at once, for this or another node to take
      this.returnBuffered(channels);
    }
    if (wanted.paused) return;
    // prefetch applies to consumers started after it: a resize restarts the consumer (unacked
    // deliveries stay ours through that)
    await channels.consume.prefetch(wanted.prefetch);
    const generation = this.link.generation;
    const { consumerTag } = await channels.consume.consume(
      this.queue,
      (message) => {
        if (message === null) {
          if (generation === this.link.generation) this.consumerCancelled(consumerTag);
          return;
        }
        this.buffered.push({ message, generation, at: Date.now() });
        // at the cap a new delivery changes nothing: a freed slot does
        if (!this.capped) this.wake();
      },
      { noAck: false },
    );
    this.consumerTag = consumerTag;
  }

  private returnBuffered(channels: AmqpChannels): void {
    this.capped = false;
    for (const delivery of [...this.buffered.splice(0), ...this.rechecks.splice(0)]) {
      if (delivery.generation === this.link.generation) channels.consume.nack(delivery.message, false, true);
    }
  }

  async claim(max: number): Promise<ClaimedTask[]> {
    const claimed: ClaimedTask[] = [];
    this.capped = false;
    while (claimed.length < max && (this.rechecks.length > 0 || this.buffered.length > 0)) {
      const secondLook = this.rechecks.length > 0;
      const delivery = (secondLook ? this.rechecks : this.buffered).shift()!;
      let taken: Taken;
      try {
        taken = await this.take(delivery, secondLook);
      } catch (error) {
        // Redis did not answer: the delivery waits for the next claim
        (secondLook ? this.rechecks : this.buffered).unshift(delivery);
        if (claimed.length === 0) throw error;
        break;
      }
      if (taken === 'capped') {
        this.buffered.unshift(delivery);
        this.capped = true;
        break;
      }
      if (taken === 'kept') continue;
      if (taken) claimed.push(taken);
      else this.ack(delivery);
    }
    return claimed;
  }

  /** Leases the delivery's task, or admits a producer's message (see `Taken`). */
  private async take(delivery: Delivery, secondLook: boolean): Promise<Taken> {
    const { message } = delivery;
    // a delivery of a connection that ended: RabbitMQ has it again
    if (delivery.generation !== this.link.generation) return 'kept';
    const taskId: unknown = message.properties.headers?.[TASK_HEADER];
    if (typeof taskId !== 'string') {
      await this.admit(message.content.toString('utf8'));
      return undefined;
    }
    const k = this.deps.keys.channel(this.channel.name);
    const messageId = typeof message.properties.messageId === 'string' ? message.properties.messageId : '';
    const now = Date.now();
    const token = `${this.options.leaseOwner}:${now}:${messageId}`;
    const [code, value] = await this.deps.redis.claimDelivered(
      k.queued,
      k.published,
      k.tasks,
      k.running,
      k.leases,
      k.stale,
      k.staleCount,
      k.alive,
      taskId,
      token,
      now + this.options.leaseMs,
      message.fields.redelivered ? '1' : '0',
      messageId,
      this.channel.globalWorkers ?? 0,
      now,
      this.options.leaseOwner,
      secondLook ? '1' : '0',
    );
    if (code === 3) return 'capped';
    if (code === 4 && value !== undefined) {
      // this runner's own connection came back: the redelivery stands for the task it still runs
      if (!this.leased.has(value)) return undefined;
      this.leased.set(value, { ...delivery, at: now });
      return 'kept';
    }
    if (code === 5 && value !== undefined) {
      setTimeout(
        () => {
          this.rechecks.push(delivery);
          this.wake();
        },
        Number(value) + 100,
      ).unref();
      return 'kept';
    }
    if (code === 6) {
      // a duplicate of a task removed since is harmless; a message naming no task is somebody's mistake
      this.options.warn(
        `dropped a message of RabbitMQ queue ${this.queue} naming task ${taskId}, which channel ${this.channel.name} does not hold (removed since, or never queued here)`,
        undefined,
        'rabbitmq-unknown-task',
      );
      return undefined;
    }
    const spec = value;
    if ((code !== 1 && code !== 2) || spec === undefined) return undefined;
    let task: ClaimedTask;
    try {
      task = { spec: decodeSpec(spec, taskId, this.channel.name), token };
    } catch (error) {
      const unreadable = { id: taskId, channel: this.channel.name, name: '', createdAt: 0, source: 'prepare-queue' as const };
      task = { spec: unreadable, token, unreadable: `stored task is not valid JSON: ${(error as Error).message}` };
    }
    this.leased.set(token, delivery);
    return task;
  }

  /** A producer's message: the seed's ingress JSON, admitted into this channel as the ingress list would. */
  private async admit(body: string): Promise<void> {
    const parsed = parseIngressEntry(body);
    const reason = !parsed.ok
      ? parsed.reason
      : await this.deps.admission
          .admit(this.channel, [{ ...parsed.input, channel: this.channel.name }], 'prepare-queue')
          .then(([result]) => {
            if (!result || !('refused' in result)) return undefined;
            // the same producer id again: a redelivery of a message already admitted
            if (isCoyotesError(result.refused, 'COY_ERR_TASK_ID_EXISTS') && result.refused.hint === undefined) return undefined;
            return result.refused.message;
          });
    if (reason !== undefined) {
      this.options.warn(`dead-lettered a message of RabbitMQ queue ${this.queue}: ${reason}`);
      await this.deps.deadLetters.add({ reason, payload: body, at: Date.now(), nodeId: this.options.leaseOwner });
    }
  }

  async waitForWork(timeoutS: number): Promise<'woken' | null> {
    if (this.rechecks.length > 0 || (!this.capped && this.buffered.length > 0)) return 'woken';
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<'woken' | null>((resolve) => {
      this.wake = () => resolve('woken');
      // one timer per wait, cleared when work arrives first (a wait per delivery at full speed)
      if (!this.capped) timer = setTimeout(resolve, timeoutS * 1000, null);
    });
    const outcome = await (this.capped ? Promise.race([arrived, this.waitForSlot()]) : arrived);
    clearTimeout(timer);
    this.wake = () => undefined;
    return outcome;
  }

  /** At the cap with deliveries in hand: a slot freed on any host ends the wait; after SLOT_WAIT_S it is looked at anyway. */
  private waitForSlot(): Promise<'woken' | null> {
    this.slotReads ??= this.deps.blockingReads();
    const reads = this.slotReads;
    this.slotWait ??= reads
      .waitForSlot(this.channel.name, SLOT_WAIT_S)
      .then(() => 'woken' as const)
      .catch(() => null)
      .finally(() => (this.slotWait = undefined));
    return this.slotWait;
  }

  /** A slot freed under the global cap and not filled here: one runner waiting at the cap looks again. */
  private async slotFreed(): Promise<void> {
    const key = this.deps.keys.channel(this.channel.name).slotFreed;
    await this.deps.redis.multi().lpush(key, '1').ltrim(key, 0, 15).exec();
  }

  /** Records the result in Redis (the delivery is acked by `settle`), then takes the slot's next task from what is prefetched. */
  async finish(
    task: ClaimedTask,
    result: TaskResult,
    policy: CompletionPolicy,
    max: number,
  ): Promise<{ outcome: CompletionOutcome; claimed: ClaimedTask[] }> {
    const outcome = await this.deps.tasks.complete(task, result, policy);
    const claimed = max > 0 ? await this.claim(max).catch(() => []) : [];
    if ((this.channel.globalWorkers ?? 0) > 0 && claimed.length === 0) {
      await this.slotFreed().catch((error: unknown) => this.options.warn('waking runners waiting at the global cap failed', error));
    }
    return { outcome, claimed };
  }

  settle(task: ClaimedTask): void {
    const delivery = this.leased.get(task.token);
    if (!delivery) return;
    this.leased.delete(task.token);
    this.ack(delivery);
  }

  /** Acks on the connection it came on; one lost with its connection is redelivered (and dropped as a duplicate). */
  private ack(delivery: Delivery): void {
    const channels = this.link.current;
    if (channels && delivery.generation === this.link.generation) channels.consume.ack(delivery.message);
  }

  configure(channel: ChannelConfig): void {
    this.channel = channel;
    void this.syncConsumer().catch((error: unknown) => this.options.warn('changing the RabbitMQ consumer failed', error));
  }

  stopTaking(): void {
    this.taking = false;
    this.relay.stop();
    this.slotReads?.close();
    this.wake();
    void this.syncConsumer().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.taking = false;
    this.relay.stop();
    this.deps.blocking.close();
    this.slotReads?.close();
    for (const timer of this.timers) clearInterval(timer);
    await this.deps.redis
      .beatRunner(this.deps.keys.channel(this.channel.name).alive, this.options.leaseOwner, 0, Date.now())
      .catch(() => undefined);
    await this.relay.stopped;
    await this.deleteQueueOfDeletedChannel();
    await this.link.close();
  }

  /**
   * A channel deleted (not a process stopping) takes its queue along when no message waits in it;
   * what waits stays for a channel of that name to take again. (Quorum queues refuse `ifEmpty`,
   * closing the connection: the depth is looked at first instead. The tasks of deliveries still
   * unacked elsewhere are leased in Redis, which records them whatever becomes of the message.)
   */
  private async deleteQueueOfDeletedChannel(): Promise<void> {
    const channels = this.link.current;
    if (!channels) return;
    try {
      if ((await this.deps.channels.get(this.channel.name)) !== null) return;
      const { messageCount } = await channels.consume.checkQueue(this.queue);
      if (messageCount > 0) {
        this.options.warn(`RabbitMQ queue ${this.queue} of a deleted channel kept: ${messageCount} messages wait in it`);
        return;
      }
      await channels.consume.deleteQueue(this.queue);
    } catch (error) {
      this.options.warn(`RabbitMQ queue ${this.queue} of a deleted channel kept (RabbitMQ away)`, error);
    }
  }
}
