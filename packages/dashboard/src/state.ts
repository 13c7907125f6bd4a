/** What every view shares: the page's mode, the latest snapshot, and what the browser remembers. */
import { Throughput } from './history.js';
import type { Snapshot } from './model.js';

const query = new URLSearchParams(location.search);

/** `?readonly` (or `?readonly=1`): a shared screen shows everything and offers no action. */
export const readOnly = query.has('readonly') && query.get('readonly') !== '0' && query.get('readonly') !== 'false';

/** Refresh period in ms: `?interval=` (at least 250), 2 s by default. */
export const intervalMs = Math.max(250, Number(query.get('interval')) || 2000);

export const state = {
  snapshot: null as Snapshot | null,
  throughput: new Throughput(),
  /** When the browser first saw each running task: its elapsed time when the API gives no start. */
  firstSeenRunning: new Map<string, number>(),
};

/** Forgets start times of tasks no longer running. */
export function trackRunning(ids: Iterable<string>, now: number): void {
  const live = new Set(ids);
  for (const id of live) if (!state.firstSeenRunning.has(id)) state.firstSeenRunning.set(id, now);
  for (const id of state.firstSeenRunning.keys()) if (!live.has(id)) state.firstSeenRunning.delete(id);
}
