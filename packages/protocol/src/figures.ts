import { NODE_DEAD_AFTER_MS } from './node.js';

/** CPU % and resident memory of one process at master's last sample (null before the first, or when it is down). */
export interface ProcessFigures {
  pid: number | null;
  cpu: number | null;
  rss: number | null;
}

/** Live figures of one channel process on one host. */
export interface ChannelProcessStats {
  channel: string;
  pid: number | null;
  alive: boolean;
  restarts: number;
  /** CPU % of the channel process at master's last sample; null before the first or when it is down. */
  cpu: number | null;
  /** Resident memory of the channel process in bytes, same sampling. */
  rss: number | null;
  /** Per running command: its leader pid, and CPU %/RSS summed over its whole process group. */
  running: { taskId: string; pid: number | null; cpu: number | null; rss: number | null; processes: number | null }[];
  processed: number;
  succeeded: number;
  failed: number;
}

/**
 * What a master publishes to Redis about its host (its processes and their live figures), for
 * the api processes to read without asking it: `/channels`, `/stats`, `/metrics` and `/health`.
 */
export interface HostFigures {
  nodeId: string;
  /** The host's name (as in `GET /nodes`). */
  host: string;
  /** When master published these figures (ms, its clock). */
  publishedAt: number;
  /** What starts commands: "native" (coyotes-spawner) or "node" (the node:child_process fallback). */
  spawner: 'native' | 'node';
  channels: Record<string, ChannelProcessStats>;
  /** The first api process (as before there could be several). */
  api: ProcessFigures & { alive: boolean };
  apis: (ProcessFigures & { alive: boolean })[];
  master: ProcessFigures;
  sample: { takenAt: number; costMs: number; pids: number; intervalMs: number };
}

/**
 * Figures older than this say nothing of the host any more (a stalled or dead master): they are
 * kept in Redis this long, and a reader treats older ones as absent. A master publishes them far
 * more often (every heartbeat, and soon after each change).
 */
export const HOST_FIGURES_FRESH_MS = NODE_DEAD_AFTER_MS;

/** Whether figures published at `publishedAt` still describe their host at `now`. */
export function figuresFresh(figures: Pick<HostFigures, 'publishedAt'>, now: number): boolean {
  return now - figures.publishedAt <= HOST_FIGURES_FRESH_MS;
}
