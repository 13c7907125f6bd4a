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

/** CPU % and resident memory of one process at master's last sample (null before the first, or when it is down). */
export interface ProcessFigures {
  pid: number | null;
  cpu: number | null;
  rss: number | null;
}

/** What master's `stats` answers: this host's processes and their live figures. */
export interface MasterStats {
  nodeId: string;
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
 * Every request the api process makes of master (the ones that change processes, and its live
 * figures), with master's reply to each: one table, as pm2's daemon exposes its calls. A new
 * request is one entry here, checked by the compiler at both ends.
 */
export interface ApiRequests {
  'channel.upsert': { request: { channel: Partial<ChannelConfig> & { name: string } }; reply: ChannelConfig };
  'channel.delete': { request: { name: string }; reply: null };
  stats: { request: Record<never, never>; reply: MasterStats };
}

export type ApiOp = keyof ApiRequests;
/** One request of the table, as sent: `{ op, ...fields }`. */
export type ApiOperation<K extends ApiOp = ApiOp> = { [Op in K]: { op: Op } & ApiRequests[Op]['request'] }[K];
export type ApiReply<K extends ApiOp> = ApiRequests[K]['reply'];

/** master → api */
export type MasterToApi =
  | { type: 'start'; identity: ChildIdentity }
  | { type: 'reply'; id: number; ok: true; data: ApiReply<ApiOp> }
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

/** Whether a message that crossed the IPC channel is one of the given shape's `type`s: the one check at receipt. */
function messageOf<T extends { type: string }>(types: readonly T['type'][]): (raw: unknown) => T | undefined {
  const known = new Set<string>(types);
  return (raw) =>
    typeof raw === 'object' && raw !== null && known.has((raw as { type?: unknown }).type as string) ? (raw as T) : undefined;
}

/** Reads a message from a channel process (undefined: not one, ignored). */
export const parseRunnerToMaster = messageOf<RunnerToMaster>(['ready', 'tasks', 'drained']);
/** Reads a message from an api process. */
export const parseApiToMaster = messageOf<ApiToMaster>(['hello', 'ready', 'request']);
/** Reads a message from master, in a channel process. */
export const parseMasterToRunner = messageOf<MasterToRunner>(['start', 'configure', 'kill', 'drain', 'force']);
/** Reads a message from master, in an api process. */
export const parseMasterToApi = messageOf<MasterToApi>(['start', 'reply', 'drain']);
