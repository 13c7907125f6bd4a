/**
 * Throughput and failure rate over the last minutes, computed in the browser from the
 * finished-task counters of successive snapshots (counters that restart count from zero).
 */

export const WINDOW_MS = 10 * 60_000;
export const BUCKET_MS = 30_000;

export interface Bucket {
  start: number;
  processed: number;
  failed: number;
}

export class Throughput {
  private last: { at: number; processed: number; failed: number } | null = null;
  private readonly finished: { at: number; processed: number; failed: number }[] = [];

  record(at: number, totals: { processed: number; failed: number } | null): void {
    if (!totals) return;
    if (this.last) {
      const processed = totals.processed >= this.last.processed ? totals.processed - this.last.processed : totals.processed;
      const failed = totals.failed >= this.last.failed ? totals.failed - this.last.failed : totals.failed;
      if (processed > 0 || failed > 0) this.finished.push({ at, processed, failed });
    }
    this.last = { at, ...totals };
    while (this.finished.length > 0 && this.finished[0]!.at < at - WINDOW_MS) this.finished.shift();
  }

  buckets(now: number): Bucket[] {
    const first = Math.floor((now - WINDOW_MS) / BUCKET_MS) * BUCKET_MS + BUCKET_MS;
    const buckets: Bucket[] = [];
    for (let start = first; start <= now; start += BUCKET_MS) buckets.push({ start, processed: 0, failed: 0 });
    for (const entry of this.finished) {
      const bucket = buckets[Math.floor((entry.at - first) / BUCKET_MS)];
      if (!bucket) continue;
      bucket.processed += entry.processed;
      bucket.failed += entry.failed;
    }
    return buckets;
  }

  /** Tasks finished per minute over the last minute, and the failed share over the window. */
  rates(now: number): { perMinute: number; failureRate: number | null } {
    let lastMinute = 0;
    let processed = 0;
    let failed = 0;
    for (const entry of this.finished) {
      if (entry.at >= now - 60_000) lastMinute += entry.processed;
      processed += entry.processed;
      failed += entry.failed;
    }
    return { perMinute: lastMinute, failureRate: processed > 0 ? failed / processed : null };
  }
}

/** A minute as `GET /throughput` answers it. */
export interface ServerMinute {
  start: string;
  processed: number;
  failed: number;
}

/** The server's per-minute history (kept in Redis: the same for every page, and there after a reload). */
export function serverBuckets(minutes: ServerMinute[]): Bucket[] {
  return minutes.map((minute) => ({ start: Date.parse(minute.start), processed: minute.processed, failed: minute.failed }));
}

/** Finished per minute (the current minute so far, topped up by the previous one's share), and the failed share. */
export function serverRates(buckets: Bucket[], now: number): { perMinute: number; failureRate: number | null } {
  const current = buckets.at(-1);
  const previous = buckets.at(-2);
  const elapsed = current ? Math.min(1, Math.max(0, (now - current.start) / 60_000)) : 0;
  const perMinute = Math.round((current?.processed ?? 0) + (previous?.processed ?? 0) * (1 - elapsed));
  const processed = buckets.reduce((sum, bucket) => sum + bucket.processed, 0);
  const failed = buckets.reduce((sum, bucket) => sum + bucket.failed, 0);
  return { perMinute, failureRate: processed > 0 ? failed / processed : null };
}
