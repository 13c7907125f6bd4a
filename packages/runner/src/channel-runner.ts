import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Broker, ClaimedTask, TaskSource } from '@coyotes/broker';
import { isSuccess } from '@coyotes/protocol';
import type { ChannelConfig, TaskOutcome, TaskResult, TaskSpec } from '@coyotes/protocol';
import { Execution, unstartedResult } from './executor.js';
import type { ExecutorOptions } from './executor.js';

export interface ChannelRunnerOptions extends ExecutorOptions {
  leaseMs: number;
  /** Unique per runner incarnation: prefixes every lease token it takes. */
  leaseOwner: string;
}

export interface RunnerHooks {
  /** About to start the task: from here until `started`, a death of this process is its doing. */
  starting(task: ClaimedTask): void;
  started(task: ClaimedTask, pid: number | null): void;
  finished(task: ClaimedTask, outcome: TaskOutcome, ok: boolean): void;
}

/** What a runner needs of the broker: the task transitions of its channel and its queue's transport. */
export type RunnerBroker = Pick<Broker, 'tasks' | 'taskSource'>;

interface Slot {
  task: ClaimedTask;
  execution: Execution;
}

/** How long a kill waits for its task to start here (a kill can overtake the claim). */
const PENDING_KILL_MS = 10_000;

/** How long a claimer blocks waiting for a wake-up marker before it looks again. */
const WAIT_FOR_WORK_S = 1;

/** Settles like `promise`, or rejects when it has not within `ms`. */
function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * The channel's N command slots: claims queued tasks while slots are free, runs them, renews
 * their leases, records their results. Lives in the channel's own process.
 */
export class ChannelRunner {
  private readonly slots = new Map<string, Slot>();
  /**
   * Slots taken: running a command, or reserved by a claim in flight. A finishing task keeps its
   * slot while its result and the claim of its successor travel to Redis together.
   */
  private occupied = 0;
  /** Kills that arrived for tasks not running here yet: task id → until (ms). */
  private readonly pendingKills = new Map<string, number>();
  private readonly completions = new Set<Promise<void>>();
  private state: 'running' | 'draining' | 'stopped' = 'running';
  /** Set when a forced stop could not requeue: finishing tasks are not recorded, their leases return them. */
  private resultsLeftToLeases = false;
  private wakeLoop: () => void = () => undefined;
  /** The transport holding the channel's queue (Redis, or RabbitMQ with -broker-url). */
  private readonly source: TaskSource;
  private readonly leaseTimer: NodeJS.Timeout;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly broker: RunnerBroker,
    private channel: ChannelConfig,
    private readonly options: ChannelRunnerOptions,
    private readonly hooks: RunnerHooks,
    private readonly log: Logger,
  ) {
    this.source = broker.taskSource(channel, {
      leaseOwner: options.leaseOwner,
      leaseMs: options.leaseMs,
      warn: (message, error, event) => log.warn({ err: error, event }, message),
    });
    this.leaseTimer = setInterval(() => void this.renewLeases(), Math.max(250, Math.floor(options.leaseMs / 3)));
  }

  start(): void {
    this.loop = this.claimLoop();
  }

  /** Applies new settings live: more workers start at once; fewer let running commands finish. */
  configure(channel: ChannelConfig): void {
    this.channel = channel;
    this.source.configure(channel);
    this.wakeLoop();
  }

  get running(): ClaimedTask[] {
    return [...this.slots.values()].map((slot) => slot.task);
  }

  /** Kills a running task's process group (SIGTERM, then SIGKILL); answers whether it runs here. */
  kill(taskId: string): boolean {
    const slot = this.slots.get(taskId);
    if (slot) {
      slot.execution.stop('killed', this.options.killGraceMs);
      return true;
    }
    // the kill may have overtaken the claim that brings the task here: remember it briefly
    this.pendingKills.set(taskId, Date.now() + PENDING_KILL_MS);
    for (const [id, until] of this.pendingKills) if (until < Date.now()) this.pendingKills.delete(id);
    return false;
  }

  /** Takes no new task; resolves when every running command has finished and been recorded. */
  async drain(): Promise<void> {
    if (this.state === 'running') this.state = 'draining';
    this.wakeLoop();
    this.source.stopTaking();
    await this.loop;
    while (this.completions.size > 0) await Promise.all(this.completions);
    await this.source.close();
    this.stop();
  }

  /**
   * Gives running tasks back to the queue at once (not counted as crashes), then kills them.
   * When Redis cannot take them back, they are killed all the same and left to their leases:
   * their results are not recorded (a "killed" result would park a task nobody cancelled).
   */
  async force(): Promise<void> {
    this.state = 'draining';
    const tasks = this.running;
    try {
      // bounded: a forced stop kills its commands now, whether or not Redis answers
      await withinMs(
        this.broker.tasks.requeue(
          this.channel.name,
          tasks.map((task) => ({ id: task.spec.id, token: task.token, charged: false })),
        ),
        this.options.killGraceMs,
      );
      for (const task of tasks) this.source.settle(task);
    } catch (error) {
      this.resultsLeftToLeases = true;
      this.log.warn({ err: error, tasks: tasks.length }, 'requeueing running tasks failed; their leases will return them to the queue');
    }
    for (const slot of this.slots.values()) slot.execution.kill('killed');
    await this.drain();
  }

  /**
   * Once draining (no command starts any more): resolves when no command runs here; their
   * results may still be on their way to Redis.
   */
  async commandsFinished(): Promise<void> {
    await Promise.all([...this.slots.values()].map((slot) => slot.execution.done));
  }

  private stop(): void {
    this.state = 'stopped';
    clearInterval(this.leaseTimer);
  }

  private async claimLoop(): Promise<void> {
    let failures = 0;
    /** Counted waiting in Redis by the last claim, and woken without a task handed over. */
    let woke = false;
    while (this.state === 'running') {
      const free = this.channel.paused ? 0 : this.channel.workers - this.occupied;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        continue;
      }
      this.occupied += free;
      let claimed: ClaimedTask[] = [];
      try {
        claimed = await this.claim(free, { woke, willWait: true });
        woke = false;
        failures = 0;
      } catch (error) {
        if (this.state !== 'running') break;
        failures += 1;
        this.log.warn({ err: error }, 'claiming tasks failed; retrying');
        await sleep(Math.min(100 * 2 ** failures, 5000));
        continue;
      } finally {
        this.occupied -= free - claimed.length;
      }
      if (this.state !== 'running') {
        // drain began while claiming: hand them straight back
        await this.handBack(claimed);
        break;
      }
      this.startAll(claimed);
      if (claimed.length === 0) {
        try {
          // a push to an idle channel comes leased already (no claim round trip after the wake-up)
          const handed = await this.source.waitForWork(WAIT_FOR_WORK_S);
          if (handed === null || handed === 'woken') {
            woke = true;
          } else {
            this.occupied += 1;
            if (this.state === 'running') this.startAll([handed]);
            else await this.handBack([handed]);
          }
        } catch (error) {
          woke = true;
          if (this.state !== 'running') break;
          this.log.warn({ err: error }, 'waiting for work failed; retrying');
          await sleep(100);
        }
      }
    }
  }

  private claim(max: number, waiting: { woke: boolean; willWait: boolean }): Promise<ClaimedTask[]> {
    return this.source.claim(max, waiting);
  }

  /** Gives tasks claimed during a drain back to the queue (not counted as crashes). */
  private async handBack(tasks: ClaimedTask[]): Promise<void> {
    this.occupied -= tasks.length;
    if (tasks.length === 0) return;
    await this.broker.tasks
      .requeue(
        this.channel.name,
        tasks.map((t) => ({ id: t.spec.id, token: t.token, charged: false })),
      )
      .then(() => tasks.forEach((task) => this.source.settle(task)))
      .catch((error: unknown) =>
        this.log.warn({ err: error }, 'handing claimed tasks back failed; their leases will return them to the queue'),
      );
  }

  /**
   * How many tasks a finishing slot claims for itself, in the script that records its result
   * (one round trip, the result applied first): none when the slot is not to be reused —
   * draining, paused, or fewer workers than slots now.
   */
  private successors(): number {
    return this.state !== 'running' || this.channel.paused || this.occupied > this.channel.workers ? 0 : 1;
  }

  /** The slot of a finished task: runs its successor, or frees it (and lets the claim loop look). */
  private async reuseSlot(claimed: ClaimedTask[]): Promise<void> {
    if (claimed.length === 0) {
      this.occupied -= 1;
      this.wakeLoop();
    } else if (this.state !== 'running') {
      await this.handBack(claimed);
    } else {
      this.startAll(claimed);
    }
  }

  /** Starts claimed tasks: one that cannot be started is failed on its own, the others start regardless. */
  private startAll(tasks: ClaimedTask[]): void {
    for (const task of tasks) {
      try {
        this.execute(task);
      } catch (error) {
        this.log.error({ err: error, taskId: task.spec.id }, 'starting a task failed');
        this.slots.delete(task.spec.id);
        this.occupied -= 1;
        this.wakeLoop();
        const policy = { success: false, retryAllowed: true, maxRetries: this.maxRetries(task.spec) };
        void this.broker.tasks
          .complete(task, unstartedResult(error, this.options), policy)
          .then(() => this.source.settle(task))
          .catch((recording: unknown) =>
            this.log.error({ err: recording, taskId: task.spec.id }, 'recording the failure failed; the lease will return the task'),
          );
      }
    }
  }

  /** Starts a claimed task; whatever starting it throws fails that task alone. */
  private execute(task: ClaimedTask): void {
    const { spec } = task;
    // master hears which task is being started: if this process dies now, that task is the suspect
    this.hooks.starting(task);
    let execution: Execution | undefined;
    let done: Promise<TaskResult>;
    try {
      // a stored spec that could not even be read fails here, with the reason the broker gave
      if (task.unreadable !== undefined) throw new Error(task.unreadable);
      execution = new Execution(spec, this.channel, this.options, this.log);
      done = execution.done;
    } catch (error) {
      done = Promise.resolve(unstartedResult(error, this.options));
    }
    if (execution) {
      this.slots.set(spec.id, { task, execution });
      // the native spawner learns the pid a moment after the request
      void execution.started.then((pid) => {
        this.hooks.started(task, pid);
        // debug: the 'task finished' line carries the pid too, one info line per task is enough
        this.log.debug({ taskId: spec.id, task: spec.name, pid }, 'task started');
      });
    } else {
      this.hooks.started(task, null);
    }
    if (this.pendingKills.delete(spec.id)) execution?.stop('killed', this.options.killGraceMs);
    const completion = done.then(async (result) => {
      const ok = isSuccess(result);
      // its last output lines go first: the result closes the log stream with its done record
      await this.options.output?.end(spec, result);
      if (this.resultsLeftToLeases) {
        this.slots.delete(spec.id);
        this.hooks.finished(task, result.outcome, ok);
        return this.reuseSlot([]);
      }
      let successors: ClaimedTask[] = [];
      try {
        const policy = { success: ok, retryAllowed: result.outcome !== 'killed', maxRetries: this.maxRetries(spec) };
        const { outcome: recorded, claimed } = await this.source.finish(task, result, policy, this.successors());
        successors = claimed;
        const level = ok ? 'info' : 'warn';
        this.log[level](
          {
            event: 'task-finished',
            taskId: spec.id,
            task: spec.name,
            pid: result.pid,
            outcome: result.outcome,
            exitCode: result.exitCode,
            signal: result.signal,
            durationMs: result.durationMs,
            ...(result.error === undefined ? {} : { reason: result.error }),
            recorded,
          },
          'task finished',
        );
      } catch (error) {
        this.log.error({ err: error, taskId: spec.id }, 'recording the result failed; the lease will return the task to the queue');
      } finally {
        this.slots.delete(spec.id);
        // recorded, or left to the lease (which returns the task through the queue again)
        this.source.settle(task);
        this.hooks.finished(task, result.outcome, ok);
      }
      await this.reuseSlot(successors);
    });
    this.completions.add(completion);
    void completion.finally(() => this.completions.delete(completion));
  }

  /** The task's own max_retries when it is a usable count (a stored spec may hold anything), else the channel's. */
  private maxRetries(spec: TaskSpec): number {
    const own: unknown = spec.maxRetries;
    return typeof own === 'number' && Number.isSafeInteger(own) && own >= 0 ? own : this.channel.maxRetries;
  }

  private async renewLeases(): Promise<void> {
    try {
      const lost = await this.broker.tasks.extendLeases(this.channel.name, this.running, this.options.leaseMs);
      for (const id of lost) this.log.warn({ taskId: id }, 'lease lost: another runner may run this task again');
    } catch (error) {
      this.log.warn({ err: error }, 'renewing leases failed');
    }
  }
}
