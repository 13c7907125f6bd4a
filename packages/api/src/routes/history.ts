import type Router from '@koa/router';
import type { Context } from 'koa';
import type * as PromClient from 'prom-client';
import { decodeCursor } from '@coyotes/history';
import type { HistoryFilter, RunStats } from '@coyotes/history';
import { CoyotesError, RUN_STATUSES } from '@coyotes/protocol';
import type { HistoryRecord, HistoryRunView, RunStatsView, RunStatus } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { ok } from '../envelope.js';
import { invalidField, onlyFields, optionalInteger, optionalString } from '../fields.js';
import type { Fields } from '../fields.js';
import type { HistoryWriter } from '../history-writer.js';
import { rfc3339 } from '../present.js';

const PAGE_DEFAULT = 50;
const PAGE_MAX = 500;

function writerOf(deps: ApiDeps): HistoryWriter {
  if (!deps.history) throw new CoyotesError('COY_ERR_HISTORY_DISABLED', 'the task history is off: start coyotes with -history-url');
  return deps.history;
}

/** `from` / `to`: RFC 3339, or unix seconds as the seed's `ts` and `execute_at`. */
function time(query: Fields, name: string): number | undefined {
  const value = optionalString(query, name);
  if (value === undefined) return undefined;
  const ms = /^\d+(\.\d+)?$/.test(value) ? Math.round(Number(value) * 1000) : Date.parse(value);
  if (!Number.isFinite(ms)) invalidField(`${name} must be an RFC 3339 time or unix seconds`);
  return ms;
}

function filterOf(ctx: Context, allowed: readonly string[]): HistoryFilter {
  const query = ctx.query as Fields;
  onlyFields(query, allowed);
  const status = optionalString(query, 'status');
  if (status !== undefined && !RUN_STATUSES.includes(status as RunStatus)) {
    invalidField(`status must be one of ${RUN_STATUSES.join(', ')}`);
  }
  const filter: HistoryFilter = {
    channel: optionalString(query, 'channel'),
    status: status as RunStatus | undefined,
    command: optionalString(query, 'command'),
    node: optionalString(query, 'node'),
    fromMs: time(query, 'from'),
    toMs: time(query, 'to'),
  };
  for (const key of Object.keys(filter) as (keyof HistoryFilter)[]) if (filter[key] === undefined) delete filter[key];
  return filter;
}

/** A run as `GET /history` shows it: the API's snake_case names and RFC 3339 times. */
function present(run: HistoryRecord): HistoryRunView {
  return {
    task_id: run.taskId,
    attempt: run.attempt,
    channel: run.channel,
    command: run.command,
    status: run.status,
    exit_code: run.exitCode,
    signal: run.signal,
    node: run.node,
    host: run.host,
    queued_at: rfc3339(run.queuedAt),
    started_at: rfc3339(run.startedAt),
    finished_at: rfc3339(run.finishedAt),
    duration_ms: run.durationMs,
    stdout_tail: run.stdoutTail,
    stderr_tail: run.stderrTail,
    error: run.error,
    schedule: run.schedule,
  };
}

const presentStats = (row: RunStats): RunStatsView => ({
  channel: row.channel,
  ...(row.command === undefined ? {} : { command: row.command }),
  runs: row.runs,
  failures: row.failures,
  failure_rate: row.failureRate,
  p50_ms: row.p50Ms,
  p95_ms: row.p95Ms,
});

/** `GET /history` and `GET /history/stats`: the SQL task history (404 while it is off). */
export function historyRoutes(router: Router, deps: ApiDeps): void {
  router.get('/history', async (ctx) => {
    const writer = writerOf(deps);
    const filter = filterOf(ctx, ['channel', 'status', 'command', 'node', 'from', 'to', 'limit', 'cursor']);
    const query = ctx.query as Fields;
    const limit = optionalInteger(query, 'limit', 1) ?? PAGE_DEFAULT;
    if (limit > PAGE_MAX) invalidField(`limit must be at most ${PAGE_MAX}`);
    const cursorText = optionalString(query, 'cursor');
    const cursor = cursorText === undefined ? undefined : (decodeCursor(cursorText) ?? invalidField('cursor is not one this API gave'));
    const { items, next } = await writer.store.list(filter, limit, cursor);
    ok(ctx, { items: items.map(present), next_cursor: next });
  });

  router.get('/history/stats', async (ctx) => {
    const writer = writerOf(deps);
    const { channel, fromMs, toMs } = filterOf(ctx, ['channel', 'from', 'to']);
    const stats = await writer.store.stats({ channel, fromMs, toMs });
    ok(ctx, { channels: stats.channels.map(presentStats), commands: stats.commands.map(presentStats) });
  });
}

/** The history part of `/health`: null while it is off. */
export async function historyHealth(deps: ApiDeps): Promise<Record<string, unknown> | null> {
  if (!deps.history) return null;
  const { pending, dropped } = await deps.history.backlog();
  const { sql, lastError, written, rejected } = deps.history.status;
  return { sql, last_error: lastError, outbox: pending, dropped, written, rejected };
}

/** The history's metrics, made at the first scrape (prom-client is not loaded at start: metrics.ts). */
function createHistoryMetrics({ Counter, Gauge, Registry }: typeof PromClient) {
  const registry = new Registry();
  const outbox = new Gauge({
    name: 'coyotes_history_outbox',
    help: 'Finished runs waiting in Redis to be copied to the SQL history',
    labelNames: ['channel'],
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'coyotes_history_dropped_total',
    help: "Finished runs not kept in the SQL history because the channel's outbox was full",
    labelNames: ['channel'],
    registers: [registry],
  });
  const sqlUp = new Gauge({
    name: 'coyotes_history_sql_up',
    help: "1 when this host's last write to the SQL history succeeded",
    registers: [registry],
  });
  return { registry, outbox, dropped, sqlUp };
}
let historyMetricsMade: Promise<ReturnType<typeof createHistoryMetrics>> | undefined;

/** The history's lines of `/metrics` (empty while it is off). */
export async function historyMetrics(deps: ApiDeps): Promise<string> {
  if (!deps.history) return '';
  historyMetricsMade ??= import('prom-client').then(createHistoryMetrics);
  const { registry, outbox, dropped, sqlUp } = await historyMetricsMade;
  const { perChannel } = await deps.history.backlog();
  registry.resetMetrics();
  for (const row of perChannel) {
    outbox.set({ channel: row.channel }, row.pending);
    dropped.inc({ channel: row.channel }, row.dropped);
  }
  sqlUp.set(deps.history.status.sql ? 1 : 0);
  return registry.metrics();
}
