import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { customAlphabet } from 'nanoid';
import { Broker, describeRedis } from '@coyotes/broker';
import type { BrokerEvent, EventSubscriber } from '@coyotes/broker';
import { CoyotesError, setLongTimeout } from '@coyotes/protocol';
import type { ChildIdentity, ServerOptions } from '@coyotes/protocol';
import { CHANNEL_PROCESS_ENTRY, resolveSpawner } from '@coyotes/runner';
import type { ResolvedSpawner } from '@coyotes/runner';
import { API_PROCESS_ENTRY } from '@coyotes/api/entry';
import { ApiProcess } from './api-process.js';
import { ChannelSet } from './channel-set.js';
import { PrepareDispatcher } from './dispatcher.js';
import { HostReport } from './host-report.js';
import { API_CANNOT_LISTEN_EXIT, checkHttpAddr } from './http-port.js';
import { acquirePidfile, releasePidfile } from './pidfile.js';
import { findApiPredecessors, findPredecessors, retire } from './predecessors.js';
import { ScheduleFirer, applyConfigSchedules } from './schedule-firer.js';
import type { ScheduleDefinition } from '@coyotes/protocol';
import { Scheduler } from './scheduler.js';
import { TaskJobService } from './task-job.js';
import { UsageSampler } from './usage-sampler.js';

export interface MasterOptions {
  options: Readonly<ServerOptions>;
  log: Logger;
  version: string;
  /** Where children's log lines go when they must pass through master (pretty printing). */
  childOutput?: Writable;
  /** Schedules declared in the config file, written at start. */
  schedules?: readonly ScheduleDefinition[];
  /** The clock the host figures are stamped with; tests pass their own. @defaultValue Date.now */
  clock?: () => number;
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
  /** The channels this host runs; set up at start. */
  private channels!: ChannelSet;
  /** Heartbeat and host figures; set up at start. */
  private report!: HostReport;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly startedAt = Date.now();
  private shutdown: Promise<void> | undefined;
  private identity!: ChildIdentity;
  private readonly usage = new UsageSampler(
    () => ({
      processes: [
        process.pid,
        ...[...this.apis, ...this.channels.processesOf()].map((p) => p.pid).filter((pid): pid is number => pid != null),
      ],
      // a command is sampled once it has run one interval: the /proc scan of its group is the
      // sampler's main cost, and under a flood of short commands none lives to a second sample
      // (a first sample has no CPU figure anyway)
      commandGroups: this.channels.processesOf().flatMap((p) => p.commandPids(USAGE_SAMPLE_MS)),
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
    this.channels = new ChannelSet({
      options: this.options,
      identity: this.identity,
      broker: this.broker,
      log: this.log,
      childOutput: this.config.childOutput,
      predecessors: findPredecessors(this.options.pidfile, fileURLToPath(CHANNEL_PROCESS_ENTRY)),
      stopping: () => this.shutdown !== undefined,
      onChange: () => this.report.changed(),
    });
    this.report = new HostReport({
      broker: this.broker,
      log: this.log,
      node: () => ({
        nodeId: this.nodeId,
        hostname: this.identity.host,
        pid: process.pid,
        version: this.config.version,
        startedAt: this.startedAt,
        httpAddr: this.options.httpAddr,
        taskMode: this.options.taskMode,
        channels: this.channels.workers(),
      }),
      state: () => ({
        nodeId: this.nodeId,
        host: this.identity.host,
        spawner: this.spawner.kind,
        apis: this.apis,
        channels: (usage) => this.channels.stats(usage),
        usage: this.usage.latest,
        usageIntervalMs: USAGE_SAMPLE_MS,
      }),
      intervalMs: HEARTBEAT_MS,
      clock: this.config.clock,
    });
    // the api processes first: loading their modules is the longest part of a start, and it
    // overlaps with the channels' set-up below (they need Redis, as their routes do)
    await this.retireApiPredecessors();
    for (let i = 1; i <= this.options.httpProcesses; i += 1) {
      const label = this.options.httpProcesses === 1 ? 'api' : `api ${i}`;
      this.apis.push(
        new ApiProcess(label, API_PROCESS_ENTRY, this.identity, (code) => this.onApiExit(code), this.log, this.config.childOutput),
      );
    }
    for (const api of this.apis) api.start();

    await this.channels.seed();
    try {
      await applyConfigSchedules(this.broker, this.config.schedules ?? [], this.options.commandRoot, this.log);
    } catch (error) {
      // the start is refused (exit 2): nothing of this master stays behind, its pidfile included
      // (an api process that does not answer in time dies with master: it is a cluster worker)
      await settledWithin(Promise.all(this.apis.map((api) => api.stop())), REDIS_ON_THE_WAY_OUT_MS);
      await settledWithin(this.broker.close(), REDIS_ON_THE_WAY_OUT_MS);
      releasePidfile(this.options.pidfile);
      throw error;
    }
    this.events = await this.broker.subscribe();
    this.events.on('event', (event) => this.onEvent(event));
    this.events.on('resubscribed', () => {
      void this.channels.reconcile();
      void this.scheduleFirer?.reload();
    });
    await this.channels.reconcile();
    this.timers.push(setInterval(() => void this.channels.reconcile(), RECONCILE_MS));
    // after the channels' processes are forked: the first figures the api reads show them
    await this.report.start();

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
    const promoted = (): string[] => [...new Set([...this.channels.names(), ...(this.scheduleFirer?.channels() ?? [])])];
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
        channels: this.channels.names(),
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
    return this.channels.names();
  }

  /**
   * Drain: take no new task, let running commands finish and be recorded, then exit.
   * `force`: requeue and kill running commands at once.
   */
  stop(force = false): Promise<void> {
    if (force) {
      this.log.warn({ event: 'drain-forced' }, 'forcing shutdown: running tasks are requeued and their commands killed');
      return this.channels.force().then(() => this.shutdown);
    }
    this.shutdown ??= this.drain();
    return this.shutdown;
  }

  private async drain(): Promise<void> {
    this.log.info(
      { event: 'drain-started', running: this.channels.runningCount() },
      'draining: running commands finish, no new ones start',
    );
    for (const timer of this.timers) clearInterval(timer);
    this.report.drain();
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
    await this.channels.drain();
    await Promise.all(this.apis.map((api) => api.stop()));
    this.report.stop();
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

  private onEvent(event: BrokerEvent): void {
    switch (event.type) {
      case 'channel-changed':
        // the only way a definition reaches this host's processes, whoever changed it, wherever
        this.channels.changed(event.name).catch((error: unknown) => this.log.warn({ err: error }, 'reading a changed channel failed'));
        return;
      case 'delayed':
        this.scheduler?.dueAt(event.dueMs);
        return;
      case 'kill':
        this.channels.kill(event.channel, event.taskId);
        return;
      case 'schedule-changed':
        this.scheduleFirer?.changed(event.name);
        return;
    }
  }
}
