/** Reads the Prometheus text of `GET /metrics` into samples (name, labels, value). */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = LINE.exec(line.trim());
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL))
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(match[3]);
    if (!Number.isNaN(value)) samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

export type QueueState = 'queued' | 'running' | 'delayed' | 'failed';

/**
 * Per-channel task counts by state. Accepts a `state` label on one gauge
 * (`coyotes_tasks{channel,state}`) or one gauge per state (`coyotes_tasks_queued{channel}`).
 */
export function channelCounts(samples: Sample[]): Map<string, Partial<Record<QueueState, number>>> {
  const counts = new Map<string, Partial<Record<QueueState, number>>>();
  for (const sample of samples) {
    const channel = sample.labels.channel;
    if (!channel || /_total$|_bucket$|_sum$|_count$/.test(sample.name)) continue;
    const state = (sample.labels.state ?? /(queued|running|delayed|failed)/.exec(sample.name)?.[1]) as QueueState | undefined;
    if (!state || !['queued', 'running', 'delayed', 'failed'].includes(state) || !/task|queue|depth/.test(sample.name)) continue;
    const entry = counts.get(channel) ?? {};
    entry[state] = (entry[state] ?? 0) + sample.value;
    counts.set(channel, entry);
  }
  return counts;
}

/** Cluster-wide counters of finished tasks, summed over channels: processed and failed. */
export function finishedTotals(samples: Sample[]): { processed: number; failed: number } | null {
  let processed: number | null = null;
  let failed = 0;
  for (const sample of samples) {
    if (!/_total$/.test(sample.name)) continue;
    if (/processed/.test(sample.name)) processed = (processed ?? 0) + sample.value;
    else if (/failed/.test(sample.name) && !/retr/.test(sample.name)) failed += sample.value;
  }
  return processed === null ? null : { processed, failed };
}
