import type { ChannelConfig } from './channel.js';
import type { ErrorCode } from './errors.js';
import type { ServerOptions } from './options.js';
import type { TaskOutcome } from './task.js';

/** Who the process is and what it must know to start, sent once after fork. */
export interface ChildIdentity {
  nodeId: string;
  host: string;
  options: ServerOptions;
}

/** master → channel process */
export type MasterToRunner =
  | { type: 'start'; identity: ChildIdentity; channel: ChannelConfig }
  | { type: 'configure'; channel: ChannelConfig }
  | { type: 'kill'; taskId: string }
  | { type: 'drain' }
  | { type: 'force' };

/** What master must know of a channel process's tasks: which run (to kill and requeue them if it dies) and the counts. */
export type TaskEvent =
  /** Before the runner starts a task: a death from here until `task-started` is put down to it. */
  | { type: 'task-starting'; taskId: string; token: string }
  | { type: 'task-started'; taskId: string; token: string; pid: number | null }
  | { type: 'task-finished'; taskId: string; outcome: TaskOutcome; ok: boolean };

/**
 * channel process → master. Task events travel in batches (`tasks`, in the order they happened,
 * at most one message per TASK_EVENTS_BATCH_MS): master is no IPC round trip per task.
 */
export type RunnerToMaster = { type: 'ready' } | { type: 'tasks'; events: TaskEvent[] } | { type: 'drained' };

/** How long a channel process gathers task events before it sends them to master. */
export const TASK_EVENTS_BATCH_MS = 10;

/** Operations the api process asks of master: the ones that change processes. */
export type ApiOperation =
  { op: 'channel.upsert'; channel: Partial<ChannelConfig> & { name: string } } | { op: 'channel.delete'; name: string } | { op: 'stats' };

/** master → api */
export type MasterToApi =
  | { type: 'start'; identity: ChildIdentity }
  | { type: 'reply'; id: number; ok: true; data: unknown }
  /** `code` null: not a Coyotes error (a bug), answered as a 500 without its message. */
  | { type: 'reply'; id: number; ok: false; code: ErrorCode | null; message: string }
  | { type: 'drain' };

/** api → master; `hello` first, once it listens for messages (master holds them until then) */
export type ApiToMaster = { type: 'hello' } | { type: 'ready' } | ({ type: 'request'; id: number } & ApiOperation);

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
