/**
 * One snapshot of the cluster for the overview, assembled from the API routes this server has.
 * Each figure comes from the richest route available (fields the API adds to `GET /channels`,
 * `GET /metrics`), else from the seed routes, and is null when no route tells it.
 */
import { get, optional, text } from './api.js';
import { serverBuckets } from './history.js';
import type { Bucket, ServerMinute } from './history.js';
import { channelCounts, finishedTotals, parseMetrics } from './metrics.js';

export interface NodeRow {
  nodeId: string;
  hostname: string;
  pid: number;
  version: string;
  startedAt: number;
  lastSeen: number;
  taskMode: boolean;
  httpAddr: string;
  channels: Record<string, number>;
}

export interface RunningCommand {
  taskId: string;
  pid: number | null;
  cpu: number | null;
  rss: number | null;
}

/** The channel's process on the host serving this page. */
export interface ChannelProcess {
  pid: number | null;
  alive: boolean;
  restarts: number;
  cpu: number | null;
  rss: number | null;
  running: RunningCommand[];
}

export interface ChannelRow {
  name: string;
  workers: number | null;
  paused: boolean | null;
  distinct: boolean | null;
  queued: number | null;
  running: number;
  delayed: number | null;
  failed: number | null;
  /** The count is a lower bound: the listing it came from was cut at its page size. */
  capped: { delayed: boolean; failed: boolean };
  process: ChannelProcess | null;
}

export interface Snapshot {
  at: number;
  nodes: NodeRow[];
  channels: ChannelRow[];
  /** Finished-task counters for the throughput chart: cluster-wide (metrics) or this host's processes. */
  totals: { processed: number; failed: number; scope: 'cluster' | 'host' } | null;
  /** Finished per minute over the last 10 minutes, from `GET /throughput` (null on servers without it). */
  history: Bucket[] | null;
}

type Loose = Record<string, unknown>;
const COUNT_PAGE = 100;

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const bool = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);
const obj = (value: unknown): Loose => (typeof value === 'object' && value !== null ? (value as Loose) : {});

function runningCommand(raw: unknown): RunningCommand {
  const entry = obj(raw);
  return {
    taskId: String(entry.taskId ?? entry.task_id ?? ''),
    pid: num(entry.pid),
    cpu: num(entry.cpu),
    rss: num(entry.rss ?? entry.memory),
  };
}

function channelProcess(raw: unknown): ChannelProcess | null {
  if (raw === undefined || raw === null) return null;
  const entry = obj(raw);
  return {
    pid: num(entry.pid),
    alive: entry.alive !== false,
    restarts: num(entry.restarts) ?? 0,
    cpu: num(entry.cpu),
    rss: num(entry.rss ?? entry.memory),
    running: Array.isArray(entry.running) ? entry.running.map(runningCommand) : [],
  };
}

let metricsMissing = false;

/** `/metrics`, asked for until the server says it has no such route. */
async function metrics() {
  if (metricsMissing) return null;
  const body = await text('/metrics');
  if (body === null) metricsMissing = true;
  return body === null ? null : parseMetrics(body);
}

/** `/health` answers 503 with the same body when something is down; its process figures still count. */
async function hostProcesses(): Promise<Loose> {
  try {
    const response = await fetch('/health');
    return obj(obj(obj(await response.json()).data).processes);
  } catch {
    return {};
  }
}

/** Delayed and failed counts from the seed's listings, cut at one page. */
async function listedCounts(names: string[]): Promise<Map<string, { delayed: number; failed: number }>> {
  const [delayed, ...failed] = await Promise.all([
    get<Record<string, { channel: string }>>(`/delay-tasks?limit=${COUNT_PAGE}`).catch(() => ({})),
    ...names.map((name) => get<Loose>(`/channels/${encodeURIComponent(name)}/failed-tasks?limit=${COUNT_PAGE}`).catch(() => ({}))),
  ]);
  const counts = new Map(names.map((name, i) => [name, { delayed: 0, failed: Object.keys(failed[i] ?? {}).length }]));
  for (const task of Object.values(delayed)) {
    const entry = counts.get(task.channel);
    if (entry) entry.delayed += 1;
  }
  return counts;
}

/** A row of `GET /stats`: settings and counts from Redis, this host's process. */
interface StatsRow extends Loose {
  name: string;
}

let statsMissing = false;

/** `GET /stats`, asked for until the server says it has no such route. */
async function stats(): Promise<StatsRow[] | null> {
  if (statsMissing) return null;
  const data = await optional<{ channels: StatsRow[] }>('/stats');
  if (data === null) statsMissing = true;
  return data?.channels ?? null;
}

/** This host's process figures from `/stats` joined with the running commands `/health` lists. */
function joinProcess(fromStats: unknown, fromHealth: unknown): ChannelProcess | null {
  const base = channelProcess(fromStats ?? fromHealth);
  if (!base) return null;
  const health = channelProcess(fromHealth);
  return health ? { ...base, running: health.running } : { ...base, running: [] };
}

/** Counts and settings from `/stats` (one request for every channel). */
function fromStats(rows: StatsRow[], hostChannels: Loose): ChannelRow[] {
  return rows
    .map((row) => ({
      name: row.name,
      workers: num(row.workers),
      paused: bool(row.paused),
      distinct: bool(row.distinct),
      queued: num(row.queued),
      running: num(row.running) ?? 0,
      delayed: num(row.delayed),
      failed: num(row.failed),
      capped: { delayed: false, failed: false },
      process: joinProcess(row.process, hostChannels[row.name]),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Counts and settings pieced together from the seed routes, `/nodes` and `/metrics`. */
async function fromSeedRoutes(
  nodes: NodeRow[],
  hostChannels: Loose,
  samples: ReturnType<typeof parseMetrics> | null,
): Promise<ChannelRow[]> {
  const listing = await get<Record<string, Loose>>('/channels?limit=1');
  const names = Object.keys(listing).sort();
  const fromMetrics = samples ? channelCounts(samples) : new Map<string, Partial<Record<string, number>>>();
  const unknown = (name: string, state: 'delayed' | 'failed') =>
    num(listing[name]![state]) === null && fromMetrics.get(name)?.[state] === undefined;
  const listed = names.some((name) => unknown(name, 'delayed') || unknown(name, 'failed')) ? await listedCounts(names) : null;
  return names.map((name): ChannelRow => {
    const entry = listing[name]!;
    const tasks = Array.isArray(entry.tasks) ? (entry.tasks as Loose[]) : [];
    const metric = fromMetrics.get(name) ?? {};
    const running = num(entry.running) ?? metric.running ?? tasks.filter((task) => task.status === 'running').length;
    const total = num(entry.count);
    const fallback = listed?.get(name);
    return {
      name,
      workers: num(entry.workers) ?? nodes.map((node) => node.channels?.[name]).find((n) => typeof n === 'number') ?? null,
      paused: bool(entry.paused),
      distinct: bool(entry.distinct),
      queued: num(entry.queued) ?? metric.queued ?? (total === null ? null : Math.max(0, total - running)),
      running,
      delayed: num(entry.delayed) ?? metric.delayed ?? fallback?.delayed ?? null,
      failed: num(entry.failed) ?? metric.failed ?? fallback?.failed ?? null,
      capped: {
        delayed: unknown(name, 'delayed') && (fallback?.delayed ?? 0) >= COUNT_PAGE,
        failed: unknown(name, 'failed') && (fallback?.failed ?? 0) >= COUNT_PAGE,
      },
      process: joinProcess(entry.process, hostChannels[name]),
    };
  });
}

let throughputMissing = false;

/** `GET /throughput`, asked for until the server says it has no such route. */
async function throughput(): Promise<Bucket[] | null> {
  if (throughputMissing) return null;
  const data = await optional<{ minutes: ServerMinute[] }>('/throughput');
  if (data === null) throughputMissing = true;
  return data === null ? null : serverBuckets(data.minutes);
}

export async function loadSnapshot(): Promise<Snapshot> {
  const [rows, nodes, processes, samples, history] = await Promise.all([
    stats(),
    optional<NodeRow[]>('/nodes'),
    hostProcesses(),
    metrics(),
    throughput(),
  ]);
  const hostChannels = obj(processes.channels);
  const channels = rows ? fromStats(rows, hostChannels) : await fromSeedRoutes(nodes ?? [], hostChannels, samples);

  let totals: Snapshot['totals'] = null;
  const cluster = samples ? finishedTotals(samples) : null;
  if (cluster) totals = { ...cluster, scope: 'cluster' };
  else if (Object.keys(hostChannels).length > 0) {
    const all = Object.values(hostChannels).map(obj);
    totals = {
      processed: all.reduce((sum, p) => sum + (num(p.processed) ?? 0), 0),
      failed: all.reduce((sum, p) => sum + (num(p.failed) ?? 0), 0),
      scope: 'host',
    };
  }
  return { at: Date.now(), nodes: nodes ?? [], channels, totals, history };
}
