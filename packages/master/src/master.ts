import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { customAlphabet } from 'nanoid';
import { Broker, describeRedis } from '@coyotes/broker';
import type { BrokerEvent, EventSubscriber } from '@coyotes/broker';
import { CoyotesError, NODE_DEAD_AFTER_MS, SEED_CHANNELS, isValidChannelName, newChannelConfig, setLongTimeout } from '@coyotes/protocol';
import type { ChannelConfig, ChannelProcessStats, ChildIdentity, ServerOptions } from '@coyotes/protocol';
import { CHANNEL_PROCESS_ENTRY, resolveSpawner } from '@coyotes/runner';
import type { ResolvedSpawner } from '@coyotes/runner';
import { API_PROCESS_ENTRY } from '@coyotes/api/entry';
import { ApiProcess } from './api-process.js';
import type { ApiHandlers } from './api-process.js';
import { ChannelProcess } from './channel-process.js';
import { PrepareDispatcher } from './dispatcher.js';
import { API_CANNOT_LISTEN_EXIT, checkHttpAddr } from './http-port.js';
import { acquirePidfile, releasePidfile } from './pidfile.js';
import { findApiPredecessors, findPredecessors, retire } from './predecessors.js';
import type { Predecessor } from './predecessors.js';
import { ScheduleFirer, applyConfigSchedules } from './schedule-firer.js';
import type { ScheduleDefinition } from '@coyotes/protocol';
import { Scheduler } from './scheduler.js';
import { TaskJobService } from './task-job.js';
import { UsageSampler } from './usage-sampler.js';
import type { UsageSnapshot } from './usage-sampler.js';

export interface MasterOptions {
  options: Readonly<ServerOptions>;
  log: Logger;
  version: string;
  /** Where children's log lines go when they must pass through master (pretty printing). */
  childOutput?: Writable;
  /** Schedules declared in the config file, written at start. */
  schedules?: readonly ScheduleDefinition[];
}

const HEARTBEAT_MS = 1000;
const RECONCILE_MS = 5000;
/** CPU/memory sampling of every child and command; see docs/operations.md for its cost. */
const USAGE_SAMPLE_MS = 2000;
/** How long each of master's last Redis calls may take on the way out. */
const REDIS_ON_THE_WAY_OUT_MS = 2000;
const newNodeId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 12);

/** Resolves when `promise` settles, or after `ms`, whichever comes first; never rejects. */
async function settledWithin(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise?.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * One per host. Holds the pidfile, forks the api process and one process per channel,
 * dispatches the ingress list, promotes delayed tasks, reaps lapsed leases, and drains on
 * SIGUSR2 / SIGTERM / SIGINT.
 */
export class Master {
  readonly nodeId = newNodeId();
  private readonly options: Readonly<ServerOptions>;
  private readonly log: Logger;
  private broker!: Broker;
  private events: EventSubscriber | undefined;
  private apis: ApiProcess[] = [];
  private dispatcher: PrepareDispatcher | undefined;
  private scheduler: Scheduler | undefined;
  private taskJob: TaskJobService | undefined;
  private scheduleFirer: ScheduleFirer | undefined;
  private readonly channels = new Map<string, ChannelConfig>();
  private readonly processes = new Map<string, ChannelProcess>();
  /** Processes of deleted channels, finishing their running commands; settles when each has exited. */
  private readonly retiring = new Map<ChannelProcess, Promise<void>>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly startedAt = Date.now();
  private shutdown: Promise<void> | undefined;
  private identity!: ChildIdentity;
  /** Channel processes of a master that died, still draining, by channel. */
  private predecessors = new Map<string, Predecessor>();
  private readonly usage = new UsageSampler(
    () => ({
      processes: [process.pid, ...[...this.apis, ...this.channelProcesses()].map((p) => p.pid).filter((pid): pid is number => pid != null)],
      // a command is sampled once it has run one interval: the /proc scan of its group is the
      // sampler's main cost, and under a flood of short commands none lives to a second sample
      // (pidusage reports no CPU on a first one anyway)
      commandGroups: this.channelProcesses().flatMap((p) => p.commandPids(USAGE_SAMPLE_MS)),
    }),
    USAGE_SAMPLE_MS,
  );

  /** What starts commands on this host. */
  private spawner: ResolvedSpawner = { kind: 'node' };

  constructor(private readonly config: MasterOptions) {
    this.options = config.options;
    this.log = config.log.child({ nodeId: this.nodeId });
  }

  /** Starts everything; rejects (pidfile held, bad config) before touching any process. */
  async start(): Promise<void> {
    if (!cluster.isPrimary) {
      // the api processes are this master's cluster workers (they share the HTTP port)
      throw new CoyotesError('COY_ERR_CONFIG_INVALID', 'coyotes cannot run as a cluster worker (pm2 cluster mode): start it in fork mode');
    }
    // the channel processes resolve the same choice the same way
    this.spawner = resolveSpawner(this.options.spawner);
    acquirePidfile(this.options.pidfile);
    try {
      await checkHttpAddr(this.options.httpAddr);
    } catch (error) {
      releasePidfile(this.options.pidfile);
      throw error;
    }
    this.predecessors = findPredecessors(this.options.pidfile, fileURLToPath(CHANNEL_PROCESS_ENTRY));
    this.identity = { nodeId: this.nodeId, host: hostname(), options: { ...this.options } };
    let redisTrouble = false;
    this.broker = Broker.connect(this.options, {
      name: `coyotes:master:${this.nodeId}`,
      onRetry: (attempt, delayMs) => {
        if (attempt === 1 || attempt % 20 === 0) {
          this.log.error(
            { event: 'redis-unreachable', redis: describeRedis(this.options.redis), attempt, delayMs },
            'Redis unreachable; reconnecting',
          );
        }
        redisTrouble = true;
      },
    });
    await this.broker.ready();
    if (redisTrouble) this.log.info('Redis reachable again');
    // the api processes first: loading their modules is the longest part of a start, and it
    // overlaps with the channels' set-up below (they need Redis, as their requests to master do)
    await this.retireApiPredecessors();
    for (let i = 1; i <= this.options.httpProcesses; i += 1) {
      const label = this.options.httpProcesses === 1 ? 'api' : `api ${i}`;
      this.apis.push(
        new ApiProcess(
          label,
          API_PROCESS_ENTRY,
          this.identity,
          this.apiHandlers,
          (code) => this.onApiExit(code),
          this.log,
          this.config.childOutput,
        ),
      );
    }
    for (const api of this.apis) api.start();

    await this.seedChannels();
    await applyConfigSchedules(this.broker, this.config.schedules ?? [], this.log);
    this.events = await this.broker.subscribe();
    this.events.on('event', (event) => this.onEvent(event));
    this.events.on('resubscribed', () => {
      void this.reconcile();
      void this.scheduleFirer?.reload();
    });
    await this.heartbeat();
    this.timers.push(setInterval(() => void this.heartbeat(), HEARTBEAT_MS));
    await this.reconcile();
    this.timers.push(setInterval(() => void this.reconcile(), RECONCILE_MS));

    this.dispatcher = new PrepareDispatcher(
      this.broker,
      this.nodeId,
      this.options.channelDefault,
      (name) => this.channels.get(name),
      this.log,
    );
    await this.dispatcher.start();
    if (this.options.taskJob) {
      this.taskJob = new TaskJobService({
        broker: this.broker,
        nodeId: this.nodeId,
        taskJob: this.options.taskJob,
        channelDefault: this.options.channelDefault,
        channel: (name) => this.channels.get(name),
        log: this.log,
      });
      await this.taskJob.start();
    }
    // a schedule's runs wait as delayed tasks in its channel, which this host may not run
    const promoted = (): string[] => [...new Set([...this.channels.keys(), ...(this.scheduleFirer?.channels() ?? [])])];
    this.scheduler = new Scheduler(this.broker, promoted, this.options.leaseMs, this.log);
    this.scheduler.start();
    this.scheduleFirer = new ScheduleFirer(this.broker, (name) => this.channels.get(name), this.log);
    await this.scheduleFirer.start();
    this.usage.start();
    this.installSignals();
    this.log.info(
      {
        event: 'started',
        version: this.config.version,
        http: this.options.httpAddr,
        redis: describeRedis(this.options.redis),
        channels: [...this.channels.keys()],
        taskMode: this.options.taskMode,
        spawner: this.spawner.kind,
      },
      'coyotes started',
    );
    if (this.spawner.reason !== undefined && this.options.spawner !== 'node') {
      this.log.warn(
        { spawner: 'node', reason: this.spawner.reason },
        'commands start through node:child_process, which forks a channel process per command',
      );
    }
  }

  /**
   * An api process that cannot listen (the port was taken after the start-up check) is not
   * restarted forever while the channels consume: master says so in one line, drains and exits 2.
   */
  private onApiExit(code: number | null): void {
    if (code !== API_CANNOT_LISTEN_EXIT || this.shutdown) return;
    process.stderr.write(`coyotes: -http-addr ${this.options.httpAddr} cannot be listened on (see the api log line above); stopping\n`);
    void this.stop().then(() => process.exit(2));
  }

  /** Names of the channels this master knows (for the startup banner). */
  channelNames(): string[] {
    return [...this.channels.keys()];
  }

  /**
   * Drain: take no new task, let running commands finish and be recorded, then exit.
   * `force`: requeue and kill running commands at once.
   */
  stop(force = false): Promise<void> {
    if (force) {
      this.log.warn({ event: 'drain-forced' }, 'forcing shutdown: running tasks are requeued and their commands killed');
      return Promise.all(this.channelProcesses().map((p) => p.force())).then(() => this.shutdown);
    }
    this.shutdown ??= this.drain();
    return this.shutdown;
  }

  private async drain(): Promise<void> {
    this.log.info({ event: 'drain-started', running: this.runningCount() }, 'draining: running commands finish, no new ones start');
    for (const timer of this.timers) clearInterval(timer);
    this.usage.stop();
    if (this.options.shutdownTimeoutMs > 0) {
      setLongTimeout(() => void this.stop(true), this.options.shutdownTimeoutMs, { unref: true });
    }
    this.scheduler?.stop();
    this.scheduleFirer?.stop();
    // Redis is waited for within bounds only: a drain during an outage still ends (entries this
    // node was moving are recovered from its in-flight list by the next master that sees it dead)
    await settledWithin(this.dispatcher?.stop(), REDIS_ON_THE_WAY_OUT_MS);
    await settledWithin(this.taskJob?.stop(), REDIS_ON_THE_WAY_OUT_MS);
    await Promise.all([...[...this.processes.values()].map((p) => p.drain()), ...this.retiring.values()]);
    await Promise.all(this.apis.map((api) => api.stop()));
    await this.events?.close();
    await settledWithin(this.broker.nodes.forget(this.nodeId), REDIS_ON_THE_WAY_OUT_MS);
    await settledWithin(this.broker.close(), REDIS_ON_THE_WAY_OUT_MS);
    releasePidfile(this.options.pidfile);
    this.log.info({ event: 'stopped' }, 'coyotes stopped');
  }

  private installSignals(): void {
    let signals = 0;
    for (const signal of ['SIGUSR2', 'SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        signals += 1;
        this.log.info({ event: 'signal-received', signal }, signals === 1 ? 'signal received: draining' : 'second signal: forcing');
        const done = this.stop(signals > 1);
        void done.then(() => process.exit(0));
      });
    }
  }

  private runningCount(): number {
    return this.channelProcesses().reduce((sum, p) => sum + p.runningCount, 0);
  }

  /** Every channel process of this master: the defined channels', then the deleted ones still draining. */
  private channelProcesses(name?: string): ChannelProcess[] {
    const all = [...this.processes.values(), ...this.retiring.keys()];
    return name === undefined ? all : all.filter((p) => p.name === name);
  }

  /** The channels that exist on a first start: default, biz, cron and -channel-default. */
  private async seedChannels(): Promise<void> {
    for (const name of new Set([...SEED_CHANNELS, this.options.channelDefault])) {
      await this.broker.channels.createIfMissing(newChannelConfig(name, this.options.concurrent));
    }
  }

  /** Brings local processes in line with the channel definitions in Redis. */
  private async reconcile(): Promise<void> {
    if (this.shutdown) return;
    let defined: ChannelConfig[];
    try {
      defined = await this.broker.channels.list();
    } catch (error) {
      this.log.warn({ err: error }, 'reading channel definitions failed');
      return;
    }
    if (defined.length === 0) {
      // no channel at all: Redis came back empty (restarted without persistence, flushed). A first
      // start sees the same and creates the seed channels; without them this host would run nothing
      this.log.warn('Redis holds no channel definitions (emptied?): creating the seed channels again');
      try {
        await this.seedChannels();
        defined = await this.broker.channels.list();
      } catch (error) {
        this.log.warn({ err: error }, 'creating the seed channels failed');
        return;
      }
    }
    const names = new Set(defined.map((channel) => channel.name));
    for (const channel of defined) this.apply(channel);
    for (const name of this.channels.keys()) if (!names.has(name)) this.remove(name);
    await this.forgetDrainedRetired(names);
  }

  /** Deleted channels kept visible while their tasks ran: forgotten once nothing of theirs runs. */
  private async forgetDrainedRetired(defined: Set<string>): Promise<void> {
    try {
      for (const { name } of await this.broker.channels.retired()) {
        if (this.channelProcesses(name).length > 0 && !defined.has(name)) continue;
        if (defined.has(name) || (await this.broker.queries.counts(name)).running === 0) await this.broker.channels.forgetRetired(name);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'forgetting drained deleted channels failed');
    }
  }

  private apply(channel: ChannelConfig): void {
    const known = this.channels.get(channel.name);
    this.channels.set(channel.name, channel);
    if (!this.options.taskMode || this.shutdown) return;
    const process = this.processes.get(channel.name);
    if (!process) {
      const created = new ChannelProcess(channel, CHANNEL_PROCESS_ENTRY, this.identity, this.broker, this.log, this.config.childOutput);
      this.processes.set(channel.name, created);
      this.startAfterPredecessor(created);
    } else if (JSON.stringify(known) !== JSON.stringify(channel)) {
      process.configure(channel);
      this.log.info(
        { event: 'channel-reconfigured', channel: channel.name, workers: channel.workers, paused: channel.paused },
        'channel reconfigured',
      );
    }
  }

  /**
   * Forks the channel's process, but not while an earlier process of this channel still drains
   * (a dead master's, or this master's from before the channel was deleted and created again):
   * the channel would run more than its slots on this host meanwhile.
   */
  private startAfterPredecessor(channel: ChannelProcess): void {
    const start = (): void => {
      if (this.shutdown || this.processes.get(channel.name) !== channel) return;
      channel.start();
      this.log.info(
        { event: 'channel-started', channel: channel.name, workers: this.channels.get(channel.name)?.workers },
        'channel process started',
      );
    };
    const waits = [...this.retiring].filter(([p]) => p.name === channel.name).map(([, exited]) => exited);
    if (waits.length > 0) {
      this.log.info(
        { event: 'channel-waiting', channel: channel.name },
        "the deleted channel's process is still finishing its commands; starting this channel when it exits",
      );
    }
    const predecessor = this.predecessors.get(channel.name);
    if (predecessor) {
      this.predecessors.delete(channel.name);
      const context = { channel: channel.name, pid: predecessor.pid };
      waits.push(
        retire(predecessor, this.options.killGraceMs, {
          waiting: (commands) =>
            this.log.warn(
              { event: 'channel-waiting', ...context, commands },
              "the previous master's process of this channel is still finishing its commands; starting this channel when they end",
            ),
          terminating: () =>
            this.log.warn(context, "the previous master's process of this channel runs no command: terminating it and taking over"),
        }),
      );
    }
    if (waits.length === 0) return start();
    void Promise.all(waits).then(start);
  }

  /** Api processes a dead master left would hold the HTTP port: they run nothing, so they are terminated. */
  private async retireApiPredecessors(): Promise<void> {
    const predecessors = findApiPredecessors(this.options.pidfile, fileURLToPath(API_PROCESS_ENTRY));
    await Promise.all(
      predecessors.map((predecessor) =>
        retire(predecessor, this.options.killGraceMs, {
          waiting: () => undefined,
          terminating: () => this.log.warn({ pid: predecessor.pid }, "terminating the previous master's api process"),
        }),
      ),
    );
  }

  private remove(name: string): void {
    this.channels.delete(name);
    const process = this.processes.get(name);
    if (!process) return;
    this.processes.delete(name);
    this.log.info({ event: 'channel-deleted', channel: name }, 'channel deleted: draining its process');
    // kept until it has exited: its tasks stay killable, and a re-created channel waits for it
    this.retiring.set(
      process,
      process.drain().finally(() => this.retiring.delete(process)),
    );
  }

  private onEvent(event: BrokerEvent): void {
    switch (event.type) {
      case 'channel-changed':
        void this.broker.channels.get(event.name).then(
          (channel) => (channel ? this.apply(channel) : this.remove(event.name)),
          (error: unknown) => this.log.warn({ err: error }, 'reading a changed channel failed'),
        );
        return;
      case 'delayed':
        this.scheduler?.dueAt(event.dueMs);
        return;
      case 'kill':
        for (const process of this.channelProcesses(event.channel)) process.kill(event.taskId);
        return;
      case 'schedule-changed':
        this.scheduleFirer?.changed(event.name);
        return;
    }
  }

  /** What master answers the api process: one entry per request of protocol's `ApiRequests`. */
  private readonly apiHandlers: ApiHandlers = {
    'channel.upsert': async ({ channel: patch }) => {
      const { name } = patch;
      if (!isValidChannelName(name)) throw new CoyotesError('COY_ERR_CHANNEL_NAME_INVALID', `invalid channel name "${name}"`);
      // merged into what is stored atomically: a concurrent change of another field survives
      const channel = await this.broker.channels.update(name, (current) => ({
        ...(current ?? newChannelConfig(name, this.options.concurrent)),
        ...patch,
      }));
      this.apply(channel);
      return channel;
    },
    'channel.delete': async ({ name }) => {
      if (!(await this.broker.channels.remove(name))) {
        throw new CoyotesError('COY_ERR_CHANNEL_NOT_FOUND', `channel ${name} not found`);
      }
      this.remove(name);
      return null;
    },
    stats: async () => {
      const usage = this.usage.latest;
      const own = (pid: number | null) => (pid === null ? undefined : usage.processes.get(pid));
      const apis = this.apis.map((api) => ({
        pid: api.pid,
        alive: api.alive,
        cpu: own(api.pid)?.cpu ?? null,
        rss: own(api.pid)?.rss ?? null,
      }));
      return {
        nodeId: this.nodeId,
        spawner: this.spawner.kind,
        channels: this.channelStats(usage),
        // `api` is the first api process, as before there could be several
        api: apis[0] ?? { pid: null, alive: false, cpu: null, rss: null },
        apis,
        master: { pid: process.pid, cpu: own(process.pid)?.cpu ?? null, rss: own(process.pid)?.rss ?? null },
        sample: { takenAt: usage.takenAt, costMs: Math.round(usage.costMs * 100) / 100, pids: usage.pids, intervalMs: USAGE_SAMPLE_MS },
      };
    },
  };

  /** Per channel: its process's figures, with the commands a deleted predecessor still runs. */
  private channelStats(usage: UsageSnapshot): Record<string, ChannelProcessStats> {
    const stats: Record<string, ChannelProcessStats> = {};
    for (const process of this.channelProcesses()) {
      const own = process.stats(usage);
      const seen = stats[process.name];
      stats[process.name] = seen ? { ...seen, running: [...seen.running, ...own.running] } : own;
    }
    return stats;
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.broker.nodes.heartbeat(
        {
          nodeId: this.nodeId,
          hostname: this.identity.host,
          pid: process.pid,
          version: this.config.version,
          startedAt: this.startedAt,
          httpAddr: this.options.httpAddr,
          taskMode: this.options.taskMode,
          channels: Object.fromEntries([...this.channels.values()].map((c) => [c.name, c.workers])),
        },
        NODE_DEAD_AFTER_MS * 2,
      );
    } catch (error) {
      this.log.warn({ err: error }, 'heartbeat failed');
    }
  }
}
