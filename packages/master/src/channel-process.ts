import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { Broker } from '@coyotes/broker';
import { parseRunnerToMaster } from '@coyotes/protocol';
import type { ChannelConfig, ChannelProcessStats, ChildIdentity, MasterToRunner, RunnerToMaster, TaskEvent } from '@coyotes/protocol';
import { signalGroup } from '@coyotes/runner';
import { CHANNEL_ENV, PIDFILE_ENV } from './predecessors.js';
import { SupervisedChild } from './supervised-child.js';
import type { UsageSnapshot } from './usage-sampler.js';

interface RunningTask {
  token: string;
  pid: number | null;
  /** 'starting' from the runner's notice until its command runs in a process group of its own. */
  phase: 'starting' | 'running';
  /** When master heard it started (ms). */
  since: number;
}

/** The longest a channel runs one task at a time after a death no task could be charged with. */
const PROBATION_MS = 10 * 60_000;

/**
 * Master's handle on one channel's process: forks it, forwards settings and kills, and when it
 * dies unexpectedly kills the commands it left behind and requeues their tasks at once.
 */
export class ChannelProcess {
  private readonly child: SupervisedChild<MasterToRunner>;
  private readonly running = new Map<string, RunningTask>();
  private counters = { processed: 0, succeeded: 0, failed: 0 };
  /** The tasks requeued uncharged by the last death no task could be charged with, until they finish here. */
  private readonly bystanders = new Set<string>();
  /**
   * Tasks running together when the process died a second time beside one of them, with none to
   * charge. Until each has run again (or PROBATION_MS passed), the channel runs one task at a time
   * here, so that a task that kills its runner does it alone and is charged for it. A single
   * death (an operator's kill, the OOM killer) does not slow the channel down.
   */
  private readonly suspects = new Set<string>();
  private probationTimer: NodeJS.Timeout | undefined;

  constructor(
    private channel: ChannelConfig,
    entry: URL,
    identity: ChildIdentity,
    private readonly broker: Broker,
    private readonly log: Logger,
    output?: Writable,
    /** Told when its figures change: a batch of task events, a death. */
    private readonly onChange: () => void = () => undefined,
  ) {
    this.child = new SupervisedChild<MasterToRunner>({
      label: `channel ${channel.name}`,
      entry,
      log,
      output,
      env: { COYOTES_LOG_LEVEL: identity.options.logLevel, [PIDFILE_ENV]: identity.options.pidfile, [CHANNEL_ENV]: channel.name },
      startMessage: () => ({ type: 'start', identity, channel: this.effectiveChannel() }),
      onMessage: (raw) => {
        const message = parseRunnerToMaster(raw);
        if (message) this.onMessage(message);
      },
      onCrash: () => void this.recoverOrphans(),
    });
  }

  get name(): string {
    return this.channel.name;
  }

  /** The channel process's pid; null while it is down. */
  get pid(): number | null {
    return this.child.alive ? this.child.pid : null;
  }

  start(): void {
    this.child.start();
  }

  configure(channel: ChannelConfig): void {
    this.channel = channel;
    this.child.send({ type: 'configure', channel: this.effectiveChannel() });
  }

  /** The settings the process runs with: one slot while on probation. */
  private effectiveChannel(): ChannelConfig {
    return this.suspects.size > 0 ? { ...this.channel, workers: Math.min(1, this.channel.workers) } : this.channel;
  }

  private startProbation(ids: string[]): void {
    for (const id of ids) this.suspects.add(id);
    clearTimeout(this.probationTimer);
    this.probationTimer = setTimeout(() => this.endProbation(), PROBATION_MS).unref();
    this.log.warn(
      { event: 'channel-probation', channel: this.channel.name, suspects: [...this.suspects] },
      'channel process died again beside the same running tasks, none to blame: running one task at a time until they have run again',
    );
  }

  private endProbation(): void {
    if (this.suspects.size === 0 && this.probationTimer === undefined) return;
    this.suspects.clear();
    clearTimeout(this.probationTimer);
    this.probationTimer = undefined;
    this.child.send({ type: 'configure', channel: this.channel });
    this.log.info(
      { event: 'channel-probation-over', channel: this.channel.name, workers: this.channel.workers },
      'probation over: the channel runs all its workers again',
    );
  }

  /** Kills the task if it runs here; answers whether it does. */
  kill(taskId: string): boolean {
    // forwarded even when unknown here: the task may be claimed and not yet reported as started;
    // the channel process keeps such a kill briefly for a task that starts right after
    this.child.send({ type: 'kill', taskId });
    return this.running.has(taskId);
  }

  /** Running commands finish and are recorded, then the process exits. */
  async drain(): Promise<void> {
    await this.child.stop({ type: 'drain' });
  }

  /** Running commands are requeued and killed, then the process exits. */
  async force(): Promise<void> {
    await this.child.stop({ type: 'force' });
  }

  /** How many commands this channel runs now, as master last heard. */
  get runningCount(): number {
    return this.running.size;
  }

  /**
   * Leader pids of the commands running now (each leads its own process group); with `minAgeMs`,
   * only of those that have run at least that long.
   */
  commandPids(minAgeMs = 0): number[] {
    const startedBy = Date.now() - minAgeMs;
    const pids: number[] = [];
    for (const task of this.running.values()) if (task.pid !== null && task.since <= startedBy) pids.push(task.pid);
    return pids;
  }

  /** Live figures, with CPU and memory from the sampler's latest snapshot. */
  stats(usage: UsageSnapshot): ChannelProcessStats {
    const pid = this.child.pid;
    const own = this.child.alive && pid !== null ? usage.processes.get(pid) : undefined;
    return {
      channel: this.channel.name,
      pid,
      alive: this.child.alive,
      restarts: this.child.restarts,
      cpu: own?.cpu ?? null,
      rss: own?.rss ?? null,
      running: [...this.running].map(([taskId, task]) => {
        const group = task.pid === null ? undefined : usage.commandGroups.get(task.pid);
        return { taskId, pid: task.pid, cpu: group?.cpu ?? null, rss: group?.rss ?? null, processes: group?.processes ?? null };
      }),
      ...this.counters,
    };
  }

  private onMessage(message: RunnerToMaster): void {
    switch (message.type) {
      case 'tasks':
        for (const event of message.events) this.onTaskEvent(event);
        this.onChange();
        return;
      case 'ready':
      case 'drained':
        return;
    }
  }

  private onTaskEvent(event: TaskEvent): void {
    switch (event.type) {
      case 'task-starting':
        this.running.set(event.taskId, { token: event.token, pid: null, phase: 'starting', since: Date.now() });
        return;
      case 'task-started':
        this.running.set(event.taskId, { token: event.token, pid: event.pid, phase: 'running', since: Date.now() });
        return;
      case 'task-finished':
        this.running.delete(event.taskId);
        this.bystanders.delete(event.taskId);
        if (this.suspects.delete(event.taskId) && this.suspects.size === 0) this.endProbation();
        this.counters.processed += 1;
        if (event.ok) this.counters.succeeded += 1;
        else this.counters.failed += 1;
        return;
    }
  }

  /**
   * The process died: its commands must not run on as orphans while their tasks run again. The
   * death is charged to the task that caused it when that is known (see chargedWithDeath);
   * otherwise nobody is charged, and when it happens again beside one of the same tasks, the
   * tasks it ran go on probation, to run alone.
   */
  private async recoverOrphans(): Promise<void> {
    const orphans = [...this.running];
    this.running.clear();
    this.onChange();
    if (orphans.length === 0) return;
    for (const [, task] of orphans) if (task.pid !== null) signalGroup(task.pid, 'SIGKILL');
    const anyStarting = orphans.some(([, task]) => task.phase === 'starting');
    const charged = orphans.filter(([, task]) => chargedWithDeath(task, orphans.length, anyStarting)).map(([id]) => id);
    if (charged.length === 0) {
      const ids = orphans.map(([id]) => id);
      const again = ids.some((id) => this.bystanders.has(id));
      this.bystanders.clear();
      for (const id of ids) this.bystanders.add(id);
      // decided before the restart (at least 100 ms away): the next process starts on probation
      if (again) this.startProbation(ids);
    }
    try {
      const { requeued, poisoned } = await this.broker.tasks.requeue(
        this.channel.name,
        orphans.map(([id, task]) => ({ id, token: task.token, charged: charged.includes(id) })),
      );
      this.log.warn(
        { event: 'channel-requeued', channel: this.channel.name, requeued, poisoned, charged },
        'requeued the tasks of a dead channel process',
      );
      // a suspect parked as poison will not run again here: probation does not wait for it
      if (poisoned > 0 && poisoned === charged.length) {
        for (const id of charged) this.suspects.delete(id);
        if (this.suspects.size === 0) this.endProbation();
      }
    } catch (error) {
      this.log.error({ err: error, channel: this.channel.name }, 'requeue failed; the leases will return the tasks');
    }
  }
}

/**
 * Whether a channel process's death is put down to this task (toward its poison limit). The
 * tasks it was starting are the suspects: spawning is the runner's own work on a task's input.
 * A command already running in a process group of its own was beside the death, not in it —
 * unless it was the only task there, the one suspect left (a command that kills its parent).
 */
function chargedWithDeath(task: RunningTask, tasksInProcess: number, anyStarting: boolean): boolean {
  return task.phase === 'starting' || (!anyStarting && tasksInProcess === 1);
}
