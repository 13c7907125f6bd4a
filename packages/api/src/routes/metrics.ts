import type Router from '@koa/router';
import type * as PromClient from 'prom-client';
import type { Counter, Metric } from 'prom-client';
import { DURATION_BUCKETS_S } from '@coyotes/broker';
import { NODE_DEAD_AFTER_MS } from '@coyotes/protocol';
import type { ProcessFigures } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { localFigures } from '../host-figures.js';
import { historyMetrics } from './history.js';

const STATES = ['queued', 'running', 'delayed', 'failed'] as const;
const COUNTERS = ['accepted', 'processed', 'succeeded', 'failed', 'retried', 'poisoned'] as const;

type HistogramValue = { value: number; labels: Record<string, string | number>; metricName: string };

/**
 * The execution-duration histogram, read from the counters runners keep in Redis (cluster-wide),
 * so it is exposed as prom-client's metric interface rather than observed in this process.
 */
class DurationHistogram {
  readonly name = 'coyotes_task_duration_seconds';
  readonly help = 'Duration of task executions (every attempt), cluster-wide';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  values: HistogramValue[] = [];

  reset(): void {
    this.values = [];
  }

  get() {
    return { name: this.name, help: this.help, type: this.type, values: this.values, aggregator: this.aggregator };
  }
}

/**
 * `GET /metrics` in Prometheus text format: queue depths, totals and the duration histogram from
 * Redis (every host), and CPU/RSS of this host's processes from the figures master publishes.
 */
export function metricsRoutes(router: Router, deps: ApiDeps): void {
  // prom-client (and the OpenTelemetry API it loads: some ninety modules) at the first scrape, not
  // at start: the api process answers sooner after an exec
  let metrics: Promise<Metrics> | undefined;
  router.get('/metrics', async (ctx) => {
    metrics ??= import('prom-client').then(createMetrics);
    const { registry, tasks, totals, workers, paused, callbacks, nodes, cpu, rss, durations } = await metrics;
    const [defined, retired, local, live] = await Promise.all([
      deps.broker.channels.list(),
      // a deleted channel's tasks still running (draining) stay counted until they finish
      deps.broker.channels.retired(),
      localFigures(deps),
      deps.broker.nodes.live(NODE_DEAD_AFTER_MS),
    ]);
    const channels = [...defined, ...retired.filter((channel) => !defined.some((d) => d.name === channel.name))];
    const perChannel = await Promise.all(
      channels.map(async (channel) => ({
        channel,
        counts: await deps.broker.queries.counts(channel.name),
        stats: await deps.broker.queries.stats(channel.name),
        histogram: await deps.broker.logs.durations(channel.name),
        pendingCallbacks: await deps.broker.callbacks.pending(channel.name),
      })),
    );

    // every figure is set from one snapshot, synchronously
    registry.resetMetrics();
    for (const { channel, counts, stats, histogram, pendingCallbacks } of perChannel) {
      const name = channel.name;
      for (const state of STATES) tasks.set({ channel: name, state }, counts[state]);
      for (const counter of COUNTERS) totals[counter].inc({ channel: name }, stats[counter] ?? 0);
      workers.set({ channel: name }, channel.workers);
      paused.set({ channel: name }, channel.paused ? 1 : 0);
      callbacks.set({ channel: name }, pendingCallbacks);
      let cumulative = 0;
      for (const le of [...DURATION_BUCKETS_S.map(String), '+Inf']) {
        cumulative += histogram.buckets.get(le) ?? 0;
        durations.values.push({ metricName: `${durations.name}_bucket`, labels: { channel: name, le }, value: cumulative });
      }
      durations.values.push({ metricName: `${durations.name}_sum`, labels: { channel: name }, value: histogram.sumMs / 1000 });
      durations.values.push({ metricName: `${durations.name}_count`, labels: { channel: name }, value: histogram.count });
    }
    nodes.set(live.length);
    const figures = (role: string, channel: string, processes: (ProcessFigures | undefined)[]) => {
      const sampled = processes.filter((process): process is ProcessFigures => process !== undefined && process.pid !== null);
      const sum = (values: (number | null)[]) => values.filter((value): value is number => value !== null).reduce((a, b) => a + b, 0);
      if (sampled.some((process) => process.cpu !== null)) cpu.set({ role, channel }, sum(sampled.map((process) => process.cpu)));
      if (sampled.some((process) => process.rss !== null)) rss.set({ role, channel }, sum(sampled.map((process) => process.rss)));
    };
    figures('master', '', [local?.master]);
    figures('api', '', local?.apis ?? []);
    for (const [name, process] of Object.entries(local?.channels ?? {})) {
      figures('channel', name, [process]);
      figures('command', name, process.running ?? []);
    }

    ctx.status = 200;
    ctx.type = registry.contentType;
    ctx.body = (await registry.metrics()) + (await historyMetrics(deps));
  });
}

type Metrics = ReturnType<typeof createMetrics>;

/** The registry and its metrics, made once. */
function createMetrics({ Counter, Gauge, Registry }: typeof PromClient) {
  const registry = new Registry();
  const tasks = new Gauge({
    name: 'coyotes_tasks',
    help: 'Tasks per channel and state',
    labelNames: ['channel', 'state'],
    registers: [registry],
  });
  const totals = Object.fromEntries(
    COUNTERS.map((name) => [
      name,
      new Counter({
        name: `coyotes_tasks_${name}_total`,
        help: `Tasks ${name}, cluster-wide`,
        labelNames: ['channel'],
        registers: [registry],
      }),
    ]),
  ) as Record<(typeof COUNTERS)[number], Counter>;
  const workers = new Gauge({
    name: 'coyotes_channel_workers',
    help: 'Command slots per host',
    labelNames: ['channel'],
    registers: [registry],
  });
  const paused = new Gauge({
    name: 'coyotes_channel_paused',
    help: '1 when the channel is paused',
    labelNames: ['channel'],
    registers: [registry],
  });
  const callbacks = new Gauge({
    name: 'coyotes_callbacks_pending',
    help: 'Result callbacks not delivered yet',
    labelNames: ['channel'],
    registers: [registry],
  });
  const nodes = new Gauge({ name: 'coyotes_nodes_live', help: 'Hosts whose heartbeat is fresh', registers: [registry] });
  // labelled by role and channel only: a pid or task id label would make a new series per
  // process and per task, without bound (per-process figures are in /health and /stats)
  const cpu = new Gauge({
    name: 'coyotes_process_cpu_percent',
    help: "CPU % of this host's processes at master's last sample, summed per role and channel (commands: their whole process groups)",
    labelNames: ['role', 'channel'],
    registers: [registry],
  });
  const rss = new Gauge({
    name: 'coyotes_process_rss_bytes',
    help: "Resident memory of this host's processes, summed per role and channel (commands: their whole process groups)",
    labelNames: ['role', 'channel'],
    registers: [registry],
  });
  const durations = new DurationHistogram();
  registry.registerMetric(durations as unknown as Metric);
  return { registry, tasks, totals, workers, paused, callbacks, nodes, cpu, rss, durations };
}
