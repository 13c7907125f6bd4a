import type { ChannelConfig } from './channel.js';
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

/**
 * master → api. Nothing else crosses this IPC channel: the api writes channel definitions through
 * the broker (every master applies them from `channel-changed`), and reads each host's processes
 * from the figures its master publishes to Redis (`HostFigures`), so no route waits on master.
 */
export type MasterToApi = { type: 'start'; identity: ChildIdentity } | { type: 'drain' };

/** api → master; `hello` first, once it listens for messages (master holds them until then) */
export type ApiToMaster = { type: 'hello' } | { type: 'ready' };

/** Whether a message that crossed the IPC channel is one of the given shape's `type`s: the one check at receipt. */
function messageOf<T extends { type: string }>(types: readonly T['type'][]): (raw: unknown) => T | undefined {
  const known = new Set<string>(types);
  return (raw) =>
    typeof raw === 'object' && raw !== null && known.has((raw as { type?: unknown }).type as string) ? (raw as T) : undefined;
}

/** Reads a message from a channel process (undefined: not one, ignored). */
export const parseRunnerToMaster = messageOf<RunnerToMaster>(['ready', 'tasks', 'drained']);
/** Reads a message from master, in a channel process. */
export const parseMasterToRunner = messageOf<MasterToRunner>(['start', 'configure', 'kill', 'drain', 'force']);
/** Reads a message from master, in an api process. */
export const parseMasterToApi = messageOf<MasterToApi>(['start', 'drain']);

/**
 * Sends a message to the parent (master) over IPC, in a forked child process. Never throws and
 * never emits an unhandled `'error'`: when master dies (even SIGKILLed) a write can race the
 * closing channel (EPIPE, ERR_IPC_CHANNEL_CLOSED); without a callback Node emits that on `process`,
 * and unhandled it would kill the child before its `'disconnect'` handler finishes the running
 * commands and records them. A closed channel is no news: `'disconnect'` follows. Resolves once
 * the message was handed over, with the error when it was not (nothing to send on: undefined).
 */
export function sendToParent(message: object): Promise<Error | undefined> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve(undefined);
    try {
      process.send(message, (error: Error | null) => resolve(error ?? undefined));
    } catch (error) {
      // the message cannot be serialized: a bug of ours, not master's death
      resolve(error as Error);
    }
  });
}
