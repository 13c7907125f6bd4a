import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AmqpLink } from './amqp-link.js';
import type { RabbitDeps } from './rabbitmq-source.js';
import type { TaskSourceOptions } from './task-source.js';

/** The header that marks a message published by Coyotes' relay: its value is the task id. */
export const TASK_HEADER = 'x-coyotes-task';

/** Entries the relay publishes per round (and confirms together). */
const RELAY_BATCH = 200;
/** The relay lock's lifetime: a dead relay's channel is taken over by another node after this. */
const RELAY_LOCK_MS = 5000;
/** Entries requeuePublished moves per call when a queue was deleted under its tasks. */
const REQUEUE_BATCH = 1000;

/**
 * The RabbitMQ transport's relay of one channel, in its channel process: it publishes the
 * channel's queued list (the transport's outbox in Redis, where every script that queues a task
 * puts it) to the channel's quorum queue with publisher confirms, then moves the entries to the
 * published set (markPublished-2.lua). One node relays a channel at a time (a lock with a TTL,
 * released at a clean stop so the next process relays at once). Publishes are `mandatory`: one
 * RabbitMQ hands back unrouted (the queue was deleted under it) stays in the outbox, and what the
 * deleted queue held goes back there too (`queueGone`), to be published again once a new
 * connection declared the queue.
 */
export class RabbitRelay {
  /** Resolves once the relay has stopped and released its lock. */
  readonly stopped: Promise<void>;
  private running = true;
  /** Ids of the current round that RabbitMQ handed back unrouted. */
  private readonly unrouted = new Set<string>();
  private stopWaiting: () => void = () => undefined;
  /** Resolves when `stop` is called: ends the wait for a connection that may never come. */
  private readonly stopCalled = new Promise<void>((resolve) => (this.stopWaiting = resolve));

  constructor(
    private readonly deps: RabbitDeps,
    private readonly channel: string,
    private readonly queue: string,
    private readonly link: AmqpLink,
    private readonly options: TaskSourceOptions,
  ) {
    this.stopped = this.loop();
  }

  /** RabbitMQ handed back a message the relay published (its `return` event). */
  returned(id: string): void {
    this.unrouted.add(id);
  }

  /** Publishes nothing more; `stopped` resolves once the round in progress ends. */
  stop(): void {
    this.running = false;
    this.stopWaiting();
  }

  /**
   * The queue is gone (`why` says how it showed), and every message that waited in it: each
   * task recorded as published goes back to the outbox, oldest first (requeuePublished-2.lua),
   * then the connection is reset, so that a new one declares the queue and the relay publishes
   * them again. A message that survived in a consumer's hands only adds a duplicate, which
   * claimDelivered drops.
   */
  async queueGone(why: string): Promise<void> {
    await this.requeuePublished();
    this.link.reset(why);
  }

  private async requeuePublished(): Promise<void> {
    const k = this.deps.keys.channel(this.channel);
    let moved = 0;
    try {
      for (;;) {
        const batch = await this.deps.redis.requeuePublished(k.queued, k.published, REQUEUE_BATCH);
        if (batch === 0) break;
        moved += batch;
      }
    } catch (error) {
      this.options.warn(`putting the tasks of deleted RabbitMQ queue ${this.queue} back in the outbox failed after ${moved}`, error);
      return;
    }
    if (moved > 0) {
      this.options.warn(
        `RabbitMQ queue ${this.queue} was deleted with ${moved} tasks in it: they are published again`,
        undefined,
        'rabbitmq-queue-lost',
      );
    }
  }

  private async loop(): Promise<void> {
    const k = this.deps.keys.channel(this.channel);
    const owner = `${this.options.leaseOwner}:${randomUUID()}`;
    while (this.running) {
      try {
        if (!(await this.holdLock(k.relayLock, owner))) {
          await sleep(RELAY_LOCK_MS / 5);
          continue;
        }
        // the oldest entries are at the list's right end
        const ids = (await this.deps.redis.readOutbox(k.queued, k.handoff, k.running, k.leases, k.waiting, RELAY_BATCH)).reverse();
        if (ids.length === 0) {
          await this.deps.blocking.waitForTasks(this.channel, 1);
          continue;
        }
        // RabbitMQ away: wait for it, unless this process stops meanwhile (close waits for the relay)
        await Promise.race([this.link.ready(), this.stopCalled]);
        const channels = this.link.current;
        if (!channels) continue;
        this.unrouted.clear();
        for (const id of ids) {
          channels.publish.sendToQueue(this.queue, Buffer.from(JSON.stringify({ id, chan: this.channel })), {
            persistent: true,
            // no queue to route to (deleted under us): handed back before its confirm, not lost
            mandatory: true,
            contentType: 'application/json',
            messageId: randomUUID(),
            headers: { [TASK_HEADER]: id },
          });
        }
        await channels.publish.waitForConfirms();
        const routed = ids.filter((id) => !this.unrouted.has(id));
        if (routed.length > 0) await this.deps.redis.markPublished(k.queued, k.published, Date.now(), ...routed);
        if (routed.length < ids.length) {
          await this.queueGone(
            `RabbitMQ queue ${this.queue} missing: ${ids.length - routed.length} tasks stay in the outbox; reconnecting to declare it again`,
          );
          await sleep(500);
        }
      } catch (error) {
        if (!this.running) break;
        this.options.warn('relaying queued tasks to RabbitMQ failed; retrying', error);
        await sleep(500);
      }
    }
    // the next process of this channel (a restart, a resize on another host) relays at once, not
    // when the lock lapses
    await this.deps.redis.releaseLock(k.relayLock, owner).catch(() => undefined);
  }

  /** Takes or renews the channel's relay lock; true while this relay holds it. */
  private async holdLock(key: string, owner: string): Promise<boolean> {
    if ((await this.deps.redis.set(key, owner, 'PX', RELAY_LOCK_MS, 'NX')) === 'OK') return true;
    if ((await this.deps.redis.get(key)) !== owner) return false;
    await this.deps.redis.pexpire(key, RELAY_LOCK_MS);
    return true;
  }
}
