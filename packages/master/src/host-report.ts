import type { Logger } from 'pino';
import type { Broker } from '@coyotes/broker';
import { NODE_DEAD_AFTER_MS } from '@coyotes/protocol';
import type { ChannelProcessStats, HostFigures, NodeInfo, ProcessFigures } from '@coyotes/protocol';
import type { UsageSnapshot } from './usage-sampler.js';

/** What one api process shows of itself in the figures. */
export interface ApiProcessState {
  pid: number | null;
  alive: boolean;
}

/** What the figures are made of, read from master's state when they are published. */
export interface HostState {
  nodeId: string;
  host: string;
  spawner: HostFigures['spawner'];
  apis: readonly ApiProcessState[];
  /** Per channel process (several for one channel while a deleted one still drains). */
  channels: (usage: UsageSnapshot) => ChannelProcessStats[];
  usage: UsageSnapshot;
  usageIntervalMs: number;
}

/** This host's figures at `now`: every process with its CPU/memory from the latest usage sample. */
export function hostFigures(state: HostState, now: number): HostFigures {
  const { usage } = state;
  const own = (pid: number | null): ProcessFigures => {
    const sampled = pid === null ? undefined : usage.processes.get(pid);
    return { pid, cpu: sampled?.cpu ?? null, rss: sampled?.rss ?? null };
  };
  const apis = state.apis.map((api) => ({ ...own(api.pid), alive: api.alive }));
  const channels: Record<string, ChannelProcessStats> = {};
  for (const stats of state.channels(usage)) {
    // a deleted channel's process still draining shows its commands beside the new process's
    const seen = channels[stats.channel];
    channels[stats.channel] = seen ? { ...seen, running: [...seen.running, ...stats.running] } : stats;
  }
  return {
    nodeId: state.nodeId,
    host: state.host,
    publishedAt: now,
    spawner: state.spawner,
    channels,
    // `api` is the first api process, as before there could be several
    api: apis[0] ?? { pid: null, alive: false, cpu: null, rss: null },
    apis,
    master: own(process.pid),
    sample: {
      takenAt: usage.takenAt,
      costMs: Math.round(usage.costMs * 100) / 100,
      pids: usage.pids,
      intervalMs: state.usageIntervalMs,
    },
  };
}

export interface HostReportOptions {
  broker: Broker;
  log: Logger;
  /** The node description of each heartbeat. */
  node: () => NodeInfo;
  /** The host's state when its figures are published. */
  state: () => HostState;
  /** Heartbeat (and figures refresh) interval. */
  intervalMs: number;
  /** Least time between two publications of the figures after changes. @defaultValue 100 */
  minGapMs?: number;
  /** The clock figures are stamped with and publications spaced by; tests pass their own. @defaultValue Date.now */
  clock?: () => number;
}

/**
 * What a master tells Redis about its host, on an interval: its heartbeat (`GET /nodes`, and the
 * liveness other masters judge it by) and its figures (`HostFigures`, which the api processes
 * read for `/channels`, `/stats`, `/metrics` and `/health` instead of asking master). A change
 * (a task started or finished, a channel process started or applied) publishes the figures again
 * soon, at most once per `minGapMs`; a stalled master's figures expire with their TTL.
 */
export class HostReport {
  private readonly clock: () => number;
  private readonly minGapMs: number;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private lastPublishedAt = Number.NEGATIVE_INFINITY;
  private draining = false;
  private stopped = false;

  constructor(private readonly options: HostReportOptions) {
    this.clock = options.clock ?? Date.now;
    this.minGapMs = options.minGapMs ?? 100;
  }

  /** Reports once (awaited), then on every interval. */
  async start(): Promise<void> {
    await this.report();
    this.timer = setInterval(() => void this.report(), this.options.intervalMs);
  }

  /**
   * Master drains: no more heartbeats (other masters see this node go, as it does), while the
   * figures go on showing the commands finishing for as long as the api processes serve.
   */
  drain(): void {
    this.draining = true;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
  }

  /** Something the figures show changed: they are published at once, or when `minGapMs` has passed since the last. */
  changed(): void {
    if (this.stopped || this.soon !== undefined) return;
    const waitMs = Math.max(0, this.lastPublishedAt + this.minGapMs - this.clock());
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.publishFigures();
    }, waitMs);
  }

  /** The heartbeat (until master drains) and the figures, now. */
  async report(): Promise<void> {
    const { broker, log } = this.options;
    const heartbeat = this.draining ? undefined : broker.nodes.heartbeat(this.options.node(), NODE_DEAD_AFTER_MS * 2);
    await Promise.all([heartbeat?.catch((error: unknown) => log.warn({ err: error }, 'heartbeat failed')), this.publishFigures()]);
  }

  private async publishFigures(): Promise<void> {
    if (this.stopped) return;
    const now = this.clock();
    this.lastPublishedAt = now;
    try {
      await this.options.broker.nodes.publishFigures(hostFigures(this.options.state(), now));
    } catch (error) {
      this.options.log.warn({ err: error }, 'publishing the host figures failed');
    }
  }
}
