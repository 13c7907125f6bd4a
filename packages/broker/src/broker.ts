import { customAlphabet } from 'nanoid';
import type { ChannelConfig, ServerOptions } from '@coyotes/protocol';
import { Admission } from './admission.js';
import { BlockingReads } from './blocking.js';
import { CallbackOutbox } from './callbacks.js';
import { ChannelRegistry, EventSubscriber } from './channels.js';
import { connectRedis, duplicateForBlocking } from './connection.js';
import type { ConnectionOptions } from './connection.js';
import { HistoryOutbox } from './history-outbox.js';
import { Keys } from './keys.js';
import { NodeRegistry } from './nodes.js';
import { DeadLetters, PrepareQueue } from './prepare.js';
import { TaskQueries } from './queries.js';
import { ScheduleStore } from './schedules.js';
import type { ScriptedRedis } from './scripts.js';
import { TaskLogs } from './task-logs.js';
import { TaskStore } from './tasks.js';
import { TaskJobLists } from './task-job.js';
import { RabbitTaskSource } from './transport/rabbitmq-source.js';
import { RedisTaskSource } from './transport/redis-source.js';
import type { TaskSource, TaskSourceOptions } from './transport/task-source.js';

/** Task ids: 21 URL- and key-safe characters. */
export const newTaskId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', 21);

/** The one door to Redis: every other package goes through this. */
export class Broker {
  readonly keys: Keys;
  readonly tasks: TaskStore;
  readonly queries: TaskQueries;
  readonly channels: ChannelRegistry;
  readonly prepare: PrepareQueue;
  readonly deadLetters: DeadLetters;
  readonly nodes: NodeRegistry;
  readonly logs: TaskLogs;
  readonly callbacks: CallbackOutbox;
  readonly taskJob: TaskJobLists;
  /** The one door for work: every way a task enters goes through it. */
  readonly admission: Admission;
  readonly schedules: ScheduleStore;
  readonly history: HistoryOutbox;
  private readonly extra: ScriptedRedis[] = [];

  private constructor(
    private readonly redis: ScriptedRedis,
    private readonly options: ServerOptions,
  ) {
    this.keys = new Keys(options.keyPrefix, options.prepareQueueKey);
    this.tasks = new TaskStore(redis, this.keys, options);
    this.queries = new TaskQueries(redis, this.keys);
    this.channels = new ChannelRegistry(redis, this.keys);
    this.prepare = new PrepareQueue(redis, this.keys);
    this.deadLetters = new DeadLetters(redis, this.keys);
    this.nodes = new NodeRegistry(redis, this.keys);
    this.logs = new TaskLogs(redis, this.keys, { taskBytes: options.logStreamTaskBytes, channelBytes: options.logStreamChannelBytes });
    this.callbacks = new CallbackOutbox(redis, this.keys);
    this.taskJob = new TaskJobLists(redis, this.keys);
    this.admission = new Admission(this.tasks, this.callbacks, this.channels, options.commandRoot, newTaskId);
    this.schedules = new ScheduleStore(redis, this.keys, options, (event) => this.channels.publish(event), this.tasks);
    this.history = new HistoryOutbox(redis, this.keys);
  }

  static connect(options: ServerOptions, connection: ConnectionOptions): Broker {
    return new Broker(connectRedis(options.redis, connection), options);
  }

  /** Resolves once Redis answers (waiting through reconnects). */
  async ready(): Promise<void> {
    await this.redis.ping();
  }

  /** Whether Redis answers within `timeoutMs` (the health check's probe). */
  async ping(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.redis.ping().then(() => true), late]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Blocking reads on a connection of their own, closed by their holder or with the broker. */
  blockingReads(): BlockingReads {
    const connection = duplicateForBlocking(this.redis);
    this.extra.push(connection);
    return new BlockingReads(connection, this.keys);
  }

  /**
   * Where a channel's runner takes its tasks: the channel's queued list in Redis, or its RabbitMQ
   * quorum queue when -broker-url is set (the transport seam, docs/architecture.md).
   */
  taskSource(channel: ChannelConfig, options: TaskSourceOptions): TaskSource {
    const blocking = this.blockingReads();
    if (!this.options.brokerUrl) return new RedisTaskSource(this.tasks, blocking, channel, options);
    const deps = {
      url: this.options.brokerUrl,
      redis: this.redis,
      tasks: this.tasks,
      keys: this.keys,
      blocking,
      blockingReads: () => this.blockingReads(),
      admission: this.admission,
      deadLetters: this.deadLetters,
      channels: this.channels,
    };
    return new RabbitTaskSource(deps, channel, options);
  }

  async subscribe(): Promise<EventSubscriber> {
    return EventSubscriber.open(this.redis, this.keys);
  }

  /** Closes after pending commands are written. */
  async close(): Promise<void> {
    for (const connection of this.extra) connection.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
