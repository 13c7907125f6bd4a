/**
 * Tasks finished per minute, per channel, over the last minutes: counted by completeTask in a
 * small hash per channel (`<unix minute>:processed`, `<unix minute>:failed`), so every dashboard
 * draws the same history, and a reload starts with it.
 */

/** Minutes of history kept and answered. */
export const THROUGHPUT_MINUTES = 10;

export const MINUTE_MS = 60_000;

/** One minute of one channel, or of all of them summed. */
export interface ThroughputMinute {
  /** Unix ms the minute starts. */
  start: number;
  /** Executions that ended in it (succeeded, failed, or failed and retried). */
  processed: number;
  /** Of those, the tasks that ended failed (no retry left). */
  failed: number;
}

/** The last THROUGHPUT_MINUTES minutes up to `now`'s, oldest first, zeros included, from the hashes' fields. */
export function throughputMinutes(hashes: Record<string, string>[], now: number): ThroughputMinute[] {
  const current = Math.floor(now / MINUTE_MS);
  const minutes: ThroughputMinute[] = [];
  for (let minute = current - THROUGHPUT_MINUTES + 1; minute <= current; minute++) {
    minutes.push({ start: minute * MINUTE_MS, processed: 0, failed: 0 });
  }
  for (const hash of hashes) {
    for (const [field, value] of Object.entries(hash)) {
      const [minute, counter] = field.split(':');
      const entry = minutes[Number(minute) - (current - THROUGHPUT_MINUTES + 1)];
      if (entry && (counter === 'processed' || counter === 'failed')) entry[counter] += Number(value) || 0;
    }
  }
  return minutes;
}
