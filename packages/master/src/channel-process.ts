import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { Broker } from '@coyotes/broker';
import type { ChannelConfig, ChannelProcessStats, ChildIdentity, MasterToRunner, RunnerToMaster, TaskEvent } from '@coyotes/protocol';
import { signalGroup } from '@coyotes/runner';
import { CHANNEL_ENV, PIDFILE_ENV } from './predecessors.js';
import { SupervisedChild } from './supervised-child.js';
import type { UsageSnapshot } from './usage-sampler.js';

interface RunningTask {
  token: string;
  pid: number | null;
}

/**
 * Master's handle on one channel's process: forks it, forwards settings and kills, and when it
 * dies unexpectedly kills the commands it left behind and requeues their tasks at once.
 */
export class ChannelProcess {
  private readonly child: SupervisedChild<MasterToRunner>;
  private readonly running = new Map<string, RunningTask>();
  private counters = { processed: 0, succeeded: 0, failed: 0 };

  constructor(
    private channel: ChannelConfig,
    entry: URL,
    identity: ChildIdentity,
    private readonly broker: Broker,
    private readonly log: Logger,
    output?: Writable,
  ) {
    this.child = new SupervisedChild<MasterToRunner>({
      label: `channel ${channel.name}`,
      entry,
      log,
      output,
      env: { COYOTES_LOG_LEVEL: identity.options.logLevel, [PIDFILE_ENV]: identity.options.pidfile, [CHANNEL_ENV]: channel.name },
      startMessage: () => ({ type: 'start', identity, channel: this.channel }),
      onMessage: (message) => this.onMessage(message as RunnerToMaster),
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
    this.child.send({ type: 'configure', channel });
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

  /** Leader pids of the commands running now (each leads its own process group). */
  commandPids(): number[] {
    return [...this.running.values()].flatMap((task) => (task.pid === null ? [] : [task.pid]));
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
        return;
      case 'ready':
      case 'drained':
        return;
    }
  }

  private onTaskEvent(event: TaskEvent): void {
    switch (event.type) {
      case 'task-started':
        this.running.set(event.taskId, { token: event.token, pid: event.pid });
        return;
      case 'task-finished':
        this.running.delete(event.taskId);
        this.counters.processed += 1;
        if (event.ok) this.counters.succeeded += 1;
        else this.counters.failed += 1;
        return;
    }
  }

  /** The process died: its commands must not run on as orphans while their tasks run again. */
  private async recoverOrphans(): Promise<void> {
    const orphans = [...this.running];
    this.running.clear();
    if (orphans.length === 0) return;
    for (const [, task] of orphans) if (task.pid !== null) signalGroup(task.pid, 'SIGKILL');
    try {
      const { requeued, poisoned } = await this.broker.tasks.requeue(
        this.channel.name,
        orphans.map(([id, task]) => ({ id, token: task.token })),
        true,
      );
      this.log.warn({ channel: this.channel.name, requeued, poisoned }, 'requeued the tasks of a dead channel process');
    } catch (error) {
      this.log.error({ err: error, channel: this.channel.name }, 'requeue failed; the leases will return the tasks');
    }
  }
}
