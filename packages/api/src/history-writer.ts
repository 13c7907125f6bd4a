import type { Logger } from 'pino';
import type { Broker } from '@coyotes/broker';
import type { HistoryStore } from '@coyotes/history';
import type { HistoryRecord } from '@coyotes/protocol';

/** Runs read from one channel's outbox per SQL statement. */
const BATCH = 500;
/** How long a writer's lease on a channel's outbox lasts without renewal (above SQL's statement timeout). */
const LEASE_MS = 60_000;
/**
 * A pass over every channel's outbox costs a few Redis calls and one statement whatever it
 * copies: once a second keeps that a small share of a busy queue's CPU (`pnpm bench`'s history
 * row) while runs reach SQL within about a second.
 */
const POLL_MS = 1_000;
/** After a failed batch, wait this long, doubling up to the cap: a down database is not hammered. */
const BACKOFF_MS = 500;
const BACKOFF_CAP_MS = 5_000;
/** Batches copied from one channel per round before the next channel gets its turn. */
const BATCHES_PER_ROUND = 20;
/** Old runs are deleted this often, this many per statement (small batches: short locks). */
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_FIRST_MS = 10_000;
const PRUNE_BATCH = 1_000;

/** A write to SQL failed (as opposed to a Redis read or trim): it marks SQL as down. */
class SqlFailure extends Error {
  constructor(readonly original: unknown) {
    super((original as Error).message || String(original));
  }
}

/** Runs `step` against SQL, tagging its failure as SQL's. */
async function sql<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new SqlFailure(error);
  }
}

/** What `/health` shows of the history writer of this api process. */
export interface HistoryWriterStatus {
  /** false after a failed write to SQL, until one succeeds */
  sql: boolean;
  lastError: string | null;
  /** runs this process copied to SQL (new rows), skipped as already there, and refused by SQL one by one */
  written: number;
  skipped: number;
  rejected: number;
  pruned: number;
}

/**
 * Copies finished runs from the channels' Redis outboxes to the SQL history in batches. Runs in
 * every api process (where the HTTP read side already holds a pool); a lease per channel outbox
 * makes one writer at a time copy it, across hosts. A copy is trimmed from Redis only after SQL
 * has it, and SQL skips a run it already has (primary key task id + attempt): at least once,
 * never twice. A down or slow database only lets the outboxes grow (bounded by the completion
 * script); commands never wait for it.
 */
export class HistoryWriter {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private backoffMs = 0;
  private nextPruneAt = Date.now() + PRUNE_FIRST_MS;
  private readonly token: string;
  readonly status: HistoryWriterStatus = { sql: true, lastError: null, written: 0, skipped: 0, rejected: 0, pruned: 0 };

  constructor(
    private readonly broker: Broker,
    readonly store: HistoryStore,
    nodeId: string,
    private readonly retentionDays: number,
    private readonly log: Logger,
  ) {
    this.token = `${nodeId}:${process.pid}`;
  }

  start(): void {
    this.schedule(POLL_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.store.close().catch(() => undefined);
  }

  /** Total runs waiting in every channel's outbox, and runs dropped because one was full. */
  async backlog(): Promise<{ pending: number; dropped: number; perChannel: { channel: string; pending: number; dropped: number }[] }> {
    const names = await this.broker.channels.namesWithRetired();
    const perChannel = await Promise.all(
      names.map(async (channel) => ({
        channel,
        pending: await this.broker.history.depth(channel),
        dropped: await this.broker.history.dropped(channel),
      })),
    );
    return {
      pending: perChannel.reduce((sum, row) => sum + row.pending, 0),
      dropped: perChannel.reduce((sum, row) => sum + row.dropped, 0),
      perChannel,
    };
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round().then(
        (busy) => this.schedule(this.backoffMs || (busy ? 0 : POLL_MS)),
        () => this.schedule(POLL_MS),
      );
    }, delayMs);
  }

  /** One pass over every channel; answers whether there may be more to copy right away. */
  private async round(): Promise<boolean> {
    let busy = false;
    let wrote = false;
    try {
      for (const channel of await this.broker.channels.namesWithRetired()) {
        for (let i = 0; i < BATCHES_PER_ROUND && !this.stopped; i++) {
          const copied = await this.copyBatch(channel);
          wrote ||= copied > 0;
          if (copied < BATCH) break;
          if (i === BATCHES_PER_ROUND - 1) busy = true;
        }
      }
      if (Date.now() >= this.nextPruneAt) await sql(() => this.prune());
      // with nothing to copy SQL was not asked: its state stays what the last write said
      if (wrote) this.succeeded();
    } catch (error) {
      if (error instanceof SqlFailure) this.failed(error.original);
      else this.log.warn({ err: error }, 'reading the history outboxes failed; trying again');
      return false;
    }
    return busy;
  }

  /** Copies one batch of a channel's oldest runs; answers how many it read. */
  private async copyBatch(channel: string): Promise<number> {
    const entries = await this.broker.history.read(channel, this.token, LEASE_MS, BATCH);
    if (!entries || entries.length === 0) return 0;
    const runs: HistoryRecord[] = [];
    for (const entry of entries) {
      try {
        runs.push(JSON.parse(entry) as HistoryRecord);
      } catch {
        this.status.rejected++;
        this.log.error({ channel, entry: entry.slice(0, 200) }, 'history outbox entry is not JSON; dropped');
      }
    }
    await sql(() => this.insert(runs));
    // lease lost meanwhile: the runs stay for the writer that holds it now (SQL skips them then)
    await this.broker.history.ack(channel, this.token, entries.length);
    return entries.length;
  }

  private async insert(runs: HistoryRecord[]): Promise<void> {
    try {
      const added = await this.store.insert(runs);
      this.status.written += added;
      this.status.skipped += runs.length - added;
    } catch (error) {
      // a database that answers but refuses the batch must not stall the outbox: find the row
      // it refuses (one at a time), drop that one with an error log, keep the others
      await this.store.ping();
      for (const run of runs) {
        try {
          const added = await this.store.insert([run]);
          this.status.written += added;
          this.status.skipped += 1 - added;
        } catch (rowError) {
          await this.store.ping();
          this.status.rejected++;
          this.log.error(
            { err: rowError, taskId: run.taskId, attempt: run.attempt, batchError: (error as Error).message },
            'SQL history refused a run; dropped',
          );
        }
      }
    }
  }

  /** Deletes runs older than the retention, in small batches, yielding between them. */
  private async prune(): Promise<void> {
    this.nextPruneAt = Date.now() + PRUNE_EVERY_MS;
    const before = Date.now() - this.retentionDays * 86_400_000;
    for (;;) {
      if (this.stopped) return;
      const deleted = await this.store.pruneBatch(before, PRUNE_BATCH);
      this.status.pruned += deleted;
      if (deleted < PRUNE_BATCH) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private succeeded(): void {
    if (!this.status.sql) this.log.info('SQL history reachable again: copying the outboxes');
    this.status.sql = true;
    this.status.lastError = null;
    this.backoffMs = 0;
  }

  private failed(error: unknown): void {
    const message = (error as Error).message || String(error);
    if (this.status.sql) this.log.warn({ err: error }, 'SQL history unreachable: runs wait in the Redis outboxes');
    this.status.sql = false;
    this.status.lastError = message.split('\n')[0]!;
    this.backoffMs = Math.min(BACKOFF_CAP_MS, this.backoffMs ? this.backoffMs * 2 : BACKOFF_MS);
  }
}
