import { CoyotesError } from '@coyotes/protocol';
import type { HistoryRecord, RunStatus } from '@coyotes/protocol';
import { openDriver } from './drivers.js';
import type { Row, SqlDriver } from './drivers.js';
import { MIGRATIONS, MIGRATIONS_TABLE, RUNS_TABLE } from './migrations.js';
import { parseHistoryUrl } from './url.js';
import type { HistoryUrl } from './url.js';

/** What `GET /history` filters on; every field optional. */
export interface HistoryFilter {
  channel?: string;
  status?: RunStatus;
  /** A substring of the command line. */
  command?: string;
  node?: string;
  /** Unix ms, finished at or after / before. */
  fromMs?: number;
  toMs?: number;
}

/** Runs, failure rate and duration percentiles of one channel or one command. */
export interface RunStats {
  channel: string;
  command?: string;
  runs: number;
  failures: number;
  failureRate: number;
  p50Ms: number;
  p95Ms: number;
}

/** The statuses that count as failures in stats: an operator's kill is not the command's fault. */
export const FAILURE_STATUSES: readonly RunStatus[] = ['failed', 'timed out'];

const COLUMNS = [
  'task_id',
  'attempt',
  'channel',
  'command',
  'status',
  'exit_code',
  'exit_signal',
  'node',
  'host',
  'queued_at',
  'started_at',
  'finished_at',
  'duration_ms',
  'stdout_tail',
  'stderr_tail',
  'error_text',
  'schedule_name',
] as const;

/** Longest value of each bounded column (longer ones are cut: a row must never be refused). */
const BOUNDS = { node: 255, host: 255, exit_signal: 16, schedule_name: 255 } as const;

/** A cancelled task never ran: listed, but left out of stats (0 ms would drag its percentiles down). */
const NOT_RUN: RunStatus = 'cancelled';

/** Stats list at most this many commands (the busiest). */
const STATS_COMMANDS_MAX = 100;

// NUL is refused by PostgreSQL text and lone surrogates by both: neither may stall the outbox
const clean = (text: string) => Buffer.from(text.replace(/\0/g, '\uFFFD'), 'utf8').toString('utf8');
const cut = (text: string | null, max: number) => (text === null ? null : clean(text).slice(0, max));

function values(run: HistoryRecord): unknown[] {
  return [
    run.taskId,
    run.attempt,
    run.channel,
    clean(run.command),
    run.status,
    run.exitCode,
    cut(run.signal, BOUNDS.exit_signal),
    cut(run.node, BOUNDS.node),
    cut(run.host, BOUNDS.host),
    run.queuedAt,
    run.startedAt,
    run.finishedAt,
    run.durationMs,
    clean(run.stdoutTail),
    clean(run.stderrTail),
    run.error === null ? null : clean(run.error),
    cut(run.schedule, BOUNDS.schedule_name),
  ];
}

const num = (value: unknown) => Number(value ?? 0);
const numOrNull = (value: unknown) => (value === null || value === undefined ? null : Number(value));

function fromRow(row: Row): HistoryRecord {
  return {
    taskId: String(row.task_id),
    attempt: num(row.attempt),
    channel: String(row.channel),
    command: String(row.command),
    status: String(row.status) as RunStatus,
    exitCode: numOrNull(row.exit_code),
    signal: (row.exit_signal as string | null) ?? null,
    node: String(row.node),
    host: String(row.host),
    queuedAt: num(row.queued_at),
    startedAt: num(row.started_at),
    finishedAt: num(row.finished_at),
    durationMs: num(row.duration_ms),
    stdoutTail: String(row.stdout_tail),
    stderrTail: String(row.stderr_tail),
    error: (row.error_text as string | null) ?? null,
    schedule: (row.schedule_name as string | null) ?? null,
  };
}

/** A page position: the last row shown, as `finished_at`, `task_id`, `attempt` (newest first). */
type Cursor = [number, string, number];

export function encodeCursor(run: Pick<HistoryRecord, 'finishedAt' | 'taskId' | 'attempt'>): string {
  return Buffer.from(JSON.stringify([run.finishedAt, run.taskId, run.attempt])).toString('base64url');
}

/** Reads a cursor, or null when it is not one this store gave. */
export function decodeCursor(text: string): Cursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 3 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === 'string' &&
      Number.isSafeInteger(value[2])
    ) {
      return value as Cursor;
    }
  } catch {
    // not base64 JSON: not ours
  }
  return null;
}

/** Escapes LIKE's wildcards (escape character `!`, the same in both dialects). */
const likeContaining = (text: string) => `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;

function where(filter: HistoryFilter): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    parts.push(sql);
    params.push(...values);
  };
  if (filter.channel !== undefined) add('channel = ?', filter.channel);
  if (filter.status !== undefined) add('status = ?', filter.status);
  if (filter.node !== undefined) add('node = ?', filter.node);
  if (filter.command !== undefined) add("command LIKE ? ESCAPE '!'", likeContaining(filter.command));
  if (filter.fromMs !== undefined) add('finished_at >= ?', filter.fromMs);
  if (filter.toMs !== undefined) add('finished_at < ?', filter.toMs);
  return { sql: parts.length ? parts.join(' AND ') : '1 = 1', params };
}

/** The SQL task history: runs in, pages and stats out, old runs pruned. */
export class HistoryStore {
  private constructor(
    private readonly driver: SqlDriver,
    readonly url: HistoryUrl,
  ) {}

  /**
   * A pool that connects when first used: no I/O here, so a process started while the database
   * is down starts all the same (its writes wait in the Redis outbox).
   */
  static async connect(rawUrl: string, onError: (error: Error) => void): Promise<HistoryStore> {
    const url = parseHistoryUrl(rawUrl);
    return new HistoryStore(await openDriver(url, onError), url);
  }

  /**
   * Connects, checks the credentials with one statement, and (with `migrate`) applies the missing
   * migrations. Fails with one CoyotesError whose message names the URL (without its password)
   * and the driver's reason.
   */
  static async open(rawUrl: string, options: { migrate: boolean; onError?: (error: Error) => void }): Promise<HistoryStore> {
    const url = parseHistoryUrl(rawUrl);
    const driver = await openDriver(url, options.onError ?? (() => undefined));
    const store = new HistoryStore(driver, url);
    try {
      await driver.query('SELECT 1');
      if (options.migrate) await store.migrate();
    } catch (error) {
      await driver.close().catch(() => undefined);
      const reason = (error as Error).message || (error as { code?: string }).code || String(error);
      throw new CoyotesError('COY_ERR_HISTORY_UNREACHABLE', `history-url ${url.redacted}: ${reason.split('\n')[0]}`, { cause: error });
    }
    return store;
  }

  get dialect() {
    return this.driver.dialect;
  }

  /** Applies the migrations not applied yet; answers their versions. */
  async migrate(): Promise<number[]> {
    return this.driver.withLock(MIGRATIONS_TABLE, async (db) => {
      await db.execute(
        `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version INTEGER NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL)`,
      );
      const done = new Set((await db.query(`SELECT version FROM ${MIGRATIONS_TABLE}`)).map((row) => num(row.version)));
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        // PostgreSQL runs a step in one transaction; MySQL's DDL commits on its own, so a step
        // there is written to be re-runnable up to its first statement
        if (db.dialect === 'postgres') await db.execute('BEGIN');
        try {
          for (const statement of migration.statements[db.dialect]) await db.execute(statement);
          await db.execute(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`, [
            migration.version,
            migration.name,
            Date.now(),
          ]);
          if (db.dialect === 'postgres') await db.execute('COMMIT');
        } catch (error) {
          if (db.dialect === 'postgres') await db.execute('ROLLBACK').catch(() => undefined);
          throw error;
        }
        applied.push(migration.version);
      }
      return applied;
    });
  }

  /** Versions applied, oldest first. */
  async migrations(): Promise<number[]> {
    return (await this.driver.query(`SELECT version FROM ${MIGRATIONS_TABLE} ORDER BY version`)).map((row) => num(row.version));
  }

  /** Writes runs, skipping any already there (same task id and attempt); answers the rows added. */
  async insert(runs: readonly HistoryRecord[]): Promise<number> {
    if (runs.length === 0) return 0;
    const row = `(${COLUMNS.map(() => '?').join(', ')})`;
    const head = this.driver.dialect === 'postgres' ? `INSERT INTO ${RUNS_TABLE}` : `INSERT IGNORE INTO ${RUNS_TABLE}`;
    const tail = this.driver.dialect === 'postgres' ? ' ON CONFLICT (task_id, attempt) DO NOTHING' : '';
    const sql = `${head} (${COLUMNS.join(', ')}) VALUES ${runs.map(() => row).join(', ')}${tail}`;
    return this.driver.execute(sql, runs.flatMap(values));
  }

  /** One page of runs, newest first, and the cursor of the next page (null on the last). */
  async list(filter: HistoryFilter, limit: number, cursor?: Cursor): Promise<{ items: HistoryRecord[]; next: string | null }> {
    const { sql, params } = where(filter);
    let after = '';
    if (cursor) {
      const [finished, taskId, attempt] = cursor;
      after = ' AND (finished_at < ? OR (finished_at = ? AND (task_id < ? OR (task_id = ? AND attempt < ?))))';
      params.push(finished, finished, taskId, taskId, attempt);
    }
    const rows = await this.driver.query(
      `SELECT ${COLUMNS.join(', ')} FROM ${RUNS_TABLE} WHERE ${sql}${after} ORDER BY finished_at DESC, task_id DESC, attempt DESC LIMIT ?`,
      [...params, limit + 1],
    );
    const items = rows.slice(0, limit).map(fromRow);
    return { items, next: rows.length > limit ? encodeCursor(items[items.length - 1]!) : null };
  }

  /** Runs, failure rate and p50/p95 duration per channel and per command (the busiest), over a range. */
  async stats(filter: Pick<HistoryFilter, 'channel' | 'fromMs' | 'toMs'>): Promise<{ channels: RunStats[]; commands: RunStats[] }> {
    const [channels, commands] = await Promise.all([this.statsBy(filter, ['channel']), this.statsBy(filter, ['channel', 'command'])]);
    return { channels, commands };
  }

  private async statsBy(filter: Pick<HistoryFilter, 'channel' | 'fromMs' | 'toMs'>, groups: string[]): Promise<RunStats[]> {
    const { sql, params } = where(filter);
    const failed = `CASE WHEN status IN (${FAILURE_STATUSES.map(() => '?').join(', ')}) THEN 1 ELSE 0 END`;
    const by = groups.join(', ');
    const limit = groups.length > 1 ? STATS_COMMANDS_MAX : 1_000_000;
    // MariaDB has percentiles only as window functions; PostgreSQL as ordered-set aggregates
    const query =
      this.driver.dialect === 'postgres'
        ? `SELECT ${by}, COUNT(*) AS runs, SUM(${failed}) AS failures,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
           FROM ${RUNS_TABLE} WHERE ${sql} AND status <> ? GROUP BY ${by} ORDER BY runs DESC, ${by} LIMIT ?`
        : `SELECT DISTINCT ${by}, COUNT(*) OVER w AS runs, SUM(${failed}) OVER w AS failures,
             PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY duration_ms) OVER (PARTITION BY ${by}) AS p50,
             PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY duration_ms) OVER (PARTITION BY ${by}) AS p95
           FROM ${RUNS_TABLE} WHERE ${sql} AND status <> ? WINDOW w AS (PARTITION BY ${by}) ORDER BY runs DESC, ${by} LIMIT ?`;
    const rows = await this.driver.query(query, [...FAILURE_STATUSES, ...params, NOT_RUN, limit]);
    return rows.map((row) => {
      const runs = num(row.runs);
      const failures = num(row.failures);
      return {
        channel: String(row.channel),
        ...(groups.length > 1 ? { command: String(row.command) } : {}),
        runs,
        failures,
        failureRate: runs === 0 ? 0 : failures / runs,
        p50Ms: Math.round(num(row.p50)),
        p95Ms: Math.round(num(row.p95)),
      };
    });
  }

  /** Deletes up to `batch` runs finished before `beforeMs`; answers how many. */
  async pruneBatch(beforeMs: number, batch: number): Promise<number> {
    return this.driver.dialect === 'postgres'
      ? this.driver.execute(`DELETE FROM ${RUNS_TABLE} WHERE ctid IN (SELECT ctid FROM ${RUNS_TABLE} WHERE finished_at < ? LIMIT ?)`, [
          beforeMs,
          batch,
        ])
      : this.driver.execute(`DELETE FROM ${RUNS_TABLE} WHERE finished_at < ? LIMIT ?`, [beforeMs, batch]);
  }

  /** Answers when the database does. */
  async ping(): Promise<void> {
    await this.driver.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
