import type { ChannelConfig } from '@coyotes/protocol';
import type { ClaimedTask } from '../tasks.js';

/** What a channel's runner asks of the transport that holds its queue. */
export interface TaskSourceOptions {
  /** Prefixes every lease token the runner takes (unique per runner incarnation). */
  leaseOwner: string;
  leaseMs: number;
  /** Trouble worth a log line (a lost connection, a failed relay). */
  warn: (message: string, error?: unknown) => void;
}

/**
 * Where a channel's runner takes its tasks: the transport seam. Redis (the default) pops the
 * channel's queued list in a Lua script; RabbitMQ consumes the channel's quorum queue with
 * prefetch = workers and acks a delivery once its task's outcome is recorded in Redis. Either
 * way Redis keeps the task's state (spec, lease, result): only the queue moves.
 */
export interface TaskSource {
  /** Leases up to `max` tasks (fewer, or none, when the queue has fewer or the global cap is reached). */
  claim(max: number): Promise<ClaimedTask[]>;
  /** Resolves when work may have arrived, or after `timeoutS`. */
  waitForWork(timeoutS: number): Promise<void>;
  /** The task's outcome is in Redis (recorded, or handed back to the queue): its delivery is done. */
  settle(task: ClaimedTask): void;
  /** The channel's settings changed: workers (prefetch), pause (consume or not). */
  configure(channel: ChannelConfig): void;
  /** Takes nothing new (a drain began); running tasks may still settle. */
  stopTaking(): void;
  /** Closes what the source holds, once every running task has settled. */
  close(): Promise<void>;
}
