import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { Broker } from '@coyotes/broker';
import { SEED_CHANNELS, newChannelConfig } from '@coyotes/protocol';
import type { ChannelConfig, ChannelProcessStats, ChildIdentity, ServerOptions } from '@coyotes/protocol';
import { CHANNEL_PROCESS_ENTRY } from '@coyotes/runner';
import { ChannelProcess } from './channel-process.js';
import { retire } from './predecessors.js';
import type { Predecessor } from './predecessors.js';
import type { UsageSnapshot } from './usage-sampler.js';

export interface ChannelSetOptions {
  options: Readonly<ServerOptions>;
  identity: ChildIdentity;
  broker: Broker;
  log: Logger;
  /** Where the channel processes' log lines go when they pass through master. */
  childOutput?: Writable;
  /** Channel processes of a master that died, still draining, by channel. */
  predecessors: Map<string, Predecessor>;
  /** Whether master drains (no channel process is started any more). */
  stopping: () => boolean;
  /** Told when what the host figures show changed (a process started, a task started or finished). */
  onChange: () => void;
}

/**
 * The channels this host runs: the definitions read from Redis, and one process per channel kept
 * in line with them. A definition changes only in Redis (whoever wrote it, on any host); this set
 * applies it from the `channel-changed` event, and `reconcile` catches up whatever an event missed.
 */
export class ChannelSet {
  private readonly channels = new Map<string, ChannelConfig>();
  private readonly processes = new Map<string, ChannelProcess>();
  /** Processes of deleted channels, finishing their running commands; settles when each has exited. */
  private readonly retiring = new Map<ChannelProcess, Promise<void>>();

  constructor(private readonly set: ChannelSetOptions) {}

  /** A channel's definition as this host last applied it. */
  get(name: string): ChannelConfig | undefined {
    return this.channels.get(name);
  }

  names(): string[] {
    return [...this.channels.keys()];
  }

  /** Channel name → workers on this host (the heartbeat's). */
  workers(): Record<string, number> {
    return Object.fromEntries([...this.channels.values()].map((c) => [c.name, c.workers]));
  }

  /** Every channel process of this host: the defined channels', then the deleted ones still draining. */
  processesOf(name?: string): ChannelProcess[] {
    const all = [...this.processes.values(), ...this.retiring.keys()];
    return name === undefined ? all : all.filter((p) => p.name === name);
  }

  runningCount(): number {
    return this.processesOf().reduce((sum, p) => sum + p.runningCount, 0);
  }

  /** Per channel process: its figures, with CPU and memory from the usage sample. */
  stats(usage: UsageSnapshot): ChannelProcessStats[] {
    return this.processesOf().map((p) => p.stats(usage));
  }

  kill(channel: string, taskId: string): void {
    for (const process of this.processesOf(channel)) process.kill(taskId);
  }

  /** Running commands finish and are recorded (the deleted channels' too), then every process has exited. */
  async drain(): Promise<void> {
    await Promise.all([...[...this.processes.values()].map((p) => p.drain()), ...this.retiring.values()]);
  }

  /** Running commands are requeued and killed at once. */
  async force(): Promise<void> {
    await Promise.all(this.processesOf().map((p) => p.force()));
  }

  /** The channels that exist on a first start: default, biz, cron and -channel-default. */
  async seed(): Promise<void> {
    const { options, broker } = this.set;
    for (const name of new Set([...SEED_CHANNELS, options.channelDefault])) {
      await broker.channels.createIfMissing(newChannelConfig(name, options.concurrent));
    }
  }

  /** A `channel-changed` event: the definition is read again and applied (gone: the channel's process drains). */
  async changed(name: string): Promise<void> {
    const channel = await this.set.broker.channels.get(name);
    if (channel) this.apply(channel);
    else this.remove(name);
  }

  /** Brings local processes in line with the channel definitions in Redis. */
  async reconcile(): Promise<void> {
    const { broker, log } = this.set;
    if (this.set.stopping()) return;
    let defined: ChannelConfig[];
    try {
      defined = await broker.channels.list();
    } catch (error) {
      log.warn({ err: error }, 'reading channel definitions failed');
      return;
    }
    if (defined.length === 0) {
      // no channel at all: Redis came back empty (restarted without persistence, flushed). A first
      // start sees the same and creates the seed channels; without them this host would run nothing
      log.warn('Redis holds no channel definitions (emptied?): creating the seed channels again');
      try {
        await this.seed();
        defined = await broker.channels.list();
      } catch (error) {
        log.warn({ err: error }, 'creating the seed channels failed');
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
    const { broker } = this.set;
    try {
      for (const { name } of await broker.channels.retired()) {
        if (this.processesOf(name).length > 0 && !defined.has(name)) continue;
        if (defined.has(name) || (await broker.queries.counts(name)).running === 0) await broker.channels.forgetRetired(name);
      }
    } catch (error) {
      this.set.log.warn({ err: error }, 'forgetting drained deleted channels failed');
    }
  }

  private apply(channel: ChannelConfig): void {
    const { options, identity, broker, log, childOutput } = this.set;
    const known = this.channels.get(channel.name);
    this.channels.set(channel.name, channel);
    if (!options.taskMode || this.set.stopping()) return;
    const process = this.processes.get(channel.name);
    if (!process) {
      const created = new ChannelProcess(channel, CHANNEL_PROCESS_ENTRY, identity, broker, log, childOutput, this.set.onChange);
      this.processes.set(channel.name, created);
      this.startAfterPredecessor(created);
    } else if (JSON.stringify(known) !== JSON.stringify(channel)) {
      process.configure(channel);
      log.info(
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
    const { log, predecessors, options } = this.set;
    const start = (): void => {
      if (this.set.stopping() || this.processes.get(channel.name) !== channel) return;
      channel.start();
      this.set.onChange();
      log.info(
        { event: 'channel-started', channel: channel.name, workers: this.channels.get(channel.name)?.workers },
        'channel process started',
      );
    };
    const waits = [...this.retiring].filter(([p]) => p.name === channel.name).map(([, exited]) => exited);
    if (waits.length > 0) {
      log.info(
        { event: 'channel-waiting', channel: channel.name },
        "the deleted channel's process is still finishing its commands; starting this channel when it exits",
      );
    }
    const predecessor = predecessors.get(channel.name);
    if (predecessor) {
      predecessors.delete(channel.name);
      const context = { channel: channel.name, pid: predecessor.pid };
      waits.push(
        retire(predecessor, options.killGraceMs, {
          waiting: (commands) =>
            log.warn(
              { event: 'channel-waiting', ...context, commands },
              "the previous master's process of this channel is still finishing its commands; starting this channel when they end",
            ),
          terminating: () =>
            log.warn(context, "the previous master's process of this channel runs no command: terminating it and taking over"),
        }),
      );
    }
    if (waits.length === 0) return start();
    void Promise.all(waits).then(start);
  }

  private remove(name: string): void {
    this.channels.delete(name);
    const process = this.processes.get(name);
    if (!process) return;
    this.processes.delete(name);
    this.set.log.info({ event: 'channel-deleted', channel: name }, 'channel deleted: draining its process');
    // kept until it has exited: its tasks stay killable, and a re-created channel waits for it
    this.retiring.set(
      process,
      process.drain().finally(() => {
        this.retiring.delete(process);
        this.set.onChange();
      }),
    );
  }
}
