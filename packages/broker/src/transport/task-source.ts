import type { ChannelConfig, TaskResult } from '@coyotes/protocol';
import type { CompletionOutcome, CompletionPolicy } from '../completion.js';
import type { ClaimedTask } from '../tasks.js';

/** A claimer's waiting state, for Redis' hand-off of new pushes to idle claimers. */
export interface ClaimWaiting {
  woke: boolean;
  willWait: boolean;
}

/** What a channel's runner asks of the transport that holds its queue. */
export interface TaskSourceOptions {
  /** Prefixes every lease token the runner takes (unique per runner incarnation). */
  leaseOwner: string;
  leaseMs: number;
  /** Trouble worth a log line (a lost connection, a failed relay); `event` names it for the log's `event` field. */
  warn: (message: string, error?: unknown, event?: string) => void;
}

/**
 * Where a channel's runner takes its tasks: the transport seam. Redis (the default) pops the
 * channel's queued list in a Lua script; RabbitMQ consumes the channel's quorum queue with
 * prefetch = workers and acks a delivery once its task's outcome is recorded in Redis. Either
 * way Redis keeps the task's state (spec, lease, result): only the queue moves.
 */
export interface TaskSource {
  /**
   * Leases up to `max` tasks (fewer, or none, when the queue has fewer or the global cap is
   * reached). `waiting`: the caller will block in `waitForWork` when this gives nothing
   * (`willWait`), or it did and woke without a task (`woke`) — Redis hands pushes straight to
   * such a claimer.
   */
  claim(max: number, waiting?: ClaimWaiting): Promise<ClaimedTask[]>;
  /**
   * Resolves when work may have arrived (`'woken'`), after `timeoutS` (null), or with a task
   * already leased to this runner (Redis' hand-off to an idle claimer).
   */
  waitForWork(timeoutS: number): Promise<ClaimedTask | 'woken' | null>;
  /**
   * Records a finished execution's result and, for the slot it frees, leases up to `max` next
   * tasks (Redis: one script and round trip; RabbitMQ: from the deliveries already prefetched).
   */
  finish(
    task: ClaimedTask,
    result: TaskResult,
    policy: CompletionPolicy,
    max: number,
  ): Promise<{ outcome: CompletionOutcome; claimed: ClaimedTask[] }>;
  /** The task's outcome is in Redis (recorded, or handed back to the queue): its delivery is done. */
  settle(task: ClaimedTask): void;
  /** The channel's settings changed: workers (prefetch), pause (consume or not). */
  configure(channel: ChannelConfig): void;
  /** Takes nothing new (a drain began); running tasks may still settle. */
  stopTaking(): void;
  /** Closes what the source holds, once every running task has settled. */
  close(): Promise<void>;
}
