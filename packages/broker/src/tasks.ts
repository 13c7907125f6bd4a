import { createHash, randomBytes } from 'node:crypto';
import { cancelledRecord, commandLine, unranResult } from '@coyotes/protocol';
import type { ChannelConfig, ServerOptions, TaskResult, TaskSpec } from '@coyotes/protocol';
import { claimFlagKeys, claimedTasks } from './claims.js';
import { completionOptions, completionOutcome } from './completion.js';
import type { CompletionOutcome, CompletionPolicy } from './completion.js';
import { BrokerErrorCode, brokerError } from './errors.js';
import type { Keys } from './keys.js';
import { ProducerIds } from './producer-ids.js';
import { MISSED_AFTER_MS } from './schedule-times.js';
import { encodeSpec, readableSpec } from './spec-codec.js';
import type { ScriptedRedis } from './scripts.js';

/** What the broker needs of the server options. */
export type BrokerOptions = Pick<
  ServerOptions,
  | 'keyPrefix'
  | 'prepareQueueKey'
  | 'poisonLimit'
  | 'distinctTtlMs'
  | 'resultRetentionCount'
  | 'resultRetentionAgeMs'
  | 'retryBackoffMs'
  | 'leaseMs'
> &
  Partial<Pick<ServerOptions, 'historyUrl' | 'historyOutboxMax'>>;

export type EnqueueOutcome = 'queued' | 'delayed' | 'duplicate';

/** What an enqueue needs of the channel: distinct or not, and its global cap (a hand-off respects it). */
export type EnqueueConfig = Pick<ChannelConfig, 'distinct'> & Partial<Pick<ChannelConfig, 'globalWorkers'>>;

/** A task leased to a runner: the token proves the lease is still this runner's. */
export interface ClaimedTask {
  spec: TaskSpec;
  token: string;
  /** Set when the stored spec could not be decoded: the runner fails the task with this reason. */
  unreadable?: string;
}

/** A running task handed back to the queue, and whether its runner's death is put down to it. */
export interface RequeuedTask {
  id: string;
  token: string;
  charged: boolean;
}

/**
 * When a lease was taken, read from its token: `<owner>:<claim ms>:<n>` (the owner may hold
 * colons itself, so the time is the second field from the end).
 */
export function claimedAt(token: string): number | null {
  const fields = token.split(':');
  const ms = Number(fields[fields.length - 2]);
  return fields.length >= 3 && Number.isSafeInteger(ms) ? ms : null;
}

/** The dedup fingerprint of a command line. */
export function fingerprint(spec: Pick<TaskSpec, 'name' | 'command'>): string {
  return createHash('sha1').update(commandLine(spec)).digest('hex');
}

/** Task state transitions of one channel or another: each is one Lua script, O(1) in queue depth. */
export class TaskStore {
  private readonly producerIds: ProducerIds;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly options: BrokerOptions,
  ) {
    this.producerIds = new ProducerIds(redis, keys, options);
  }

  /**
   * Accepts a task: queued, or delayed until `spec.executeAt`; refused as duplicate in a distinct
   * channel. `producerId`: its id was chosen by the producer (see enqueueMany).
   */
  async enqueue(spec: TaskSpec, channel: EnqueueConfig, producerId = false): Promise<EnqueueOutcome> {
    const [outcome] = await this.enqueueMany(spec.channel, [spec], channel, producerId ? new Set([spec.id]) : undefined);
    if (outcome instanceof Error) throw outcome;
    return outcome!;
  }

  /**
   * Accepts tasks of one channel in one script call. Each gets its outcome, or the error
   * (an id already accepted, here or in another channel) that refused it; the others are
   * accepted regardless. Ids in `producerIds` were chosen by producers: each is first claimed
   * in the cross-channel id index (generated ids are unique by construction).
   */
  async enqueueMany(
    channel: string,
    specs: TaskSpec[],
    config: EnqueueConfig,
    producerIds: ReadonlySet<string> = new Set(),
  ): Promise<(EnqueueOutcome | Error)[]> {
    if (specs.length === 0) return [];
    const refused = new Map<TaskSpec, Error>();
    const claimed = new Set<TaskSpec>();
    await Promise.all(
      specs
        .filter((spec) => producerIds.has(spec.id))
        .map(async (spec) => {
          const taken = await this.producerIds.claim(channel, spec);
          if (taken === true) claimed.add(spec);
          else if (taken !== null) refused.set(spec, taken);
        }),
    );
    const admitted = specs.filter((spec) => !refused.has(spec));
    const outcomes = new Map<TaskSpec, EnqueueOutcome | Error>();
    (await this.enqueueInChannel(channel, admitted, config)).forEach((outcome, i) => outcomes.set(admitted[i]!, outcome));
    // a claim the channel then refused (duplicate command, id already there) is given back
    const refusedOutcome = (spec: TaskSpec): boolean => outcomes.get(spec) instanceof Error || outcomes.get(spec) === 'duplicate';
    const accepted = new Set(admitted.filter((spec) => !refusedOutcome(spec)).map((spec) => spec.id));
    const kept = admitted.filter((spec) => producerIds.has(spec.id) && !refusedOutcome(spec));
    await Promise.all([
      ...admitted
        .filter((spec) => claimed.has(spec) && refusedOutcome(spec) && !accepted.has(spec.id))
        .map((spec) => this.producerIds.release(channel, spec.id)),
      // accepted: the claim lives as long as the task may
      ...kept.map((spec) => this.producerIds.keep(channel, spec)),
    ]);
    return specs.map((spec) => refused.get(spec) ?? outcomes.get(spec)!);
  }

  private async enqueueInChannel(channel: string, specs: TaskSpec[], config: EnqueueConfig): Promise<(EnqueueOutcome | Error)[]> {
    if (specs.length === 0) return [];
    const k = this.keys.channel(channel);
    const packed: [string, string, string, number][] = [];
    for (const spec of specs) {
      const stored: TaskSpec = config.distinct ? { ...spec, fingerprint: fingerprint(spec) } : spec;
      packed.push([spec.id, encodeSpec(stored), stored.fingerprint ?? '', spec.executeAt ?? 0]);
    }
    const now = Date.now();
    const codes = await this.redis.enqueueTasks(
      k.queued,
      k.tasks,
      k.delayed,
      k.distinct,
      k.marker,
      k.stats,
      k.running,
      k.leases,
      k.paused,
      k.stale,
      k.staleCount,
      k.waiting,
      k.handoff,
      now,
      this.options.distinctTtlMs,
      JSON.stringify(packed),
      // a task handed to a blocked claimer: leased as its claim would lease it
      now + this.options.leaseMs,
      `handoff-${randomBytes(4).toString('hex')}:${now}`,
      config.globalWorkers ?? 0,
    );
    return codes.map((code, i) => {
      if (code === 1) return 'queued';
      if (code === 2) return 'delayed';
      if (code === BrokerErrorCode.DuplicateCommand) return 'duplicate';
      return brokerError(code, specs[i]!.id);
    });
  }

  /**
   * Leases up to `max` queued tasks to the caller; with a `globalCap`, fewer (or none) so the
   * channel never runs more than that many tasks across all hosts. `waiting.willWait`: the caller
   * blocks (`waitForTask`) if this gives nothing, so the next enqueue hands it a task;
   * `waiting.woke`: it did, and woke without one (claimTasks-10.lua).
   */
  async claim(
    channel: string,
    max: number,
    tokenPrefix: string,
    leaseMs: number,
    globalCap = 0,
    waiting: { woke?: boolean; willWait?: boolean } = {},
  ): Promise<ClaimedTask[]> {
    const k = this.keys.channel(channel);
    const now = Date.now();
    const flat = await this.redis.claimTasks(
      k.queued,
      k.tasks,
      k.running,
      k.leases,
      ...claimFlagKeys(k),
      max,
      now + leaseMs,
      `${tokenPrefix}:${now}`,
      globalCap,
      waiting.woke ? '1' : '0',
      waiting.willWait ? '1' : '0',
    );
    return claimedTasks(channel, flat, 0);
  }

  /** Renews leases; returns the ids whose lease another runner now holds. */
  async extendLeases(channel: string, tasks: ClaimedTask[], leaseMs: number): Promise<string[]> {
    if (tasks.length === 0) return [];
    const k = this.keys.channel(channel);
    const pairs = tasks.flatMap((task) => [task.spec.id, task.token]);
    return this.redis.extendLeases(k.running, k.leases, Date.now() + leaseMs, ...pairs);
  }

  /**
   * Records one execution's result; a failure is retried with backoff while retries remain. The
   * same script closes the task's live log (when it has one), so its output lines must be
   * written before this is called.
   */
  async complete(task: ClaimedTask, result: TaskResult, policy: CompletionPolicy): Promise<CompletionOutcome> {
    const code = await this.redis.completeTask(...this.completionKeys(task), ...this.completionArgs(task, result, policy));
    return completionOutcome(code, task.spec.id);
  }

  /**
   * Records one execution's result as `complete` does and, in the same script and round trip,
   * claims up to `next.max` queued tasks as `claim` does (for the slot the execution frees). The
   * claim happens even when the result was not recorded (lease lost).
   */
  async finish(
    task: ClaimedTask,
    result: TaskResult,
    policy: CompletionPolicy,
    next: { max: number; tokenPrefix: string; leaseMs: number; globalCap?: number },
  ): Promise<{ outcome: CompletionOutcome; claimed: ClaimedTask[] }> {
    const { channel } = task.spec;
    const k = this.keys.channel(channel);
    const now = Date.now();
    const reply = await this.redis.finishTask(
      ...this.completionKeys(task),
      k.queued,
      ...claimFlagKeys(k),
      ...this.completionArgs(task, result, policy),
      next.max,
      now + next.leaseMs,
      `${next.tokenPrefix}:${now}`,
      next.globalCap ?? 0,
    );
    return { outcome: completionOutcome(reply[0], task.spec.id), claimed: claimedTasks(channel, reply as unknown as string[], 1) };
  }

  /** completeTask-16's keys (finishTask-23 begins with the same). */
  private completionKeys(task: ClaimedTask): string[] {
    const k = this.keys.channel(task.spec.channel);
    const { done, failed, delayed, distinct, stats, crashes, durations, callbacks } = k;
    const log = this.keys.taskLog(task.spec.channel, task.spec.id);
    return [
      k.tasks,
      k.running,
      k.leases,
      k.retries,
      k.results,
      done,
      failed,
      delayed,
      distinct,
      stats,
      crashes,
      durations,
      callbacks,
      log,
      k.throughput,
      k.historyOutbox,
    ];
  }

  /** completeTask-16's arguments. */
  private completionArgs(task: ClaimedTask, result: TaskResult, policy: CompletionPolicy): string[] {
    return [task.spec.id, task.token, JSON.stringify(result), completionOptions(task, result, policy, this.options, Date.now())];
  }

  /**
   * Puts running tasks back at the front of their queue. A task `charged` with its runner's
   * death counts it toward the poison limit (never toward retries); the others — running beside
   * it, or stopped by an operator — are requeued as they were.
   */
  async requeue(channel: string, tasks: RequeuedTask[]): Promise<{ requeued: number; poisoned: number }> {
    if (tasks.length === 0) return { requeued: 0, poisoned: 0 };
    return this.runRequeue(
      channel,
      'ids',
      tasks.flatMap((task) => [task.id, task.token, task.charged ? '1' : '0']),
    );
  }

  /** Requeues every task of a channel whose lease lapsed (its host died); none is charged with it. */
  async requeueExpired(channel: string): Promise<{ requeued: number; poisoned: number }> {
    return this.runRequeue(channel, 'expired', []);
  }

  private async runRequeue(channel: string, mode: 'ids' | 'expired', triples: string[]) {
    const k = this.keys.channel(channel);
    const now = Date.now();
    const poison = JSON.stringify(
      unranResult('poison', now, {
        error: `runner died ${this.options.poisonLimit} times because of this task (while starting it, or running it alone)`,
      }),
    );
    const [requeued, poisoned] = await this.redis.requeueTasks(
      k.running,
      k.leases,
      k.queued,
      k.crashes,
      k.failed,
      k.results,
      k.tasks,
      k.distinct,
      k.marker,
      k.stats,
      now,
      this.options.poisonLimit,
      poison,
      mode,
      ...triples,
    );
    return { requeued, poisoned };
  }

  /**
   * Moves due delayed tasks into the queue; tells when the next one is due, and how many runs
   * pre-enqueued for schedule ticks were dropped as missed (no master promoted them in time).
   */
  async promoteDue(channel: string, limit = 1000): Promise<{ moved: number; nextDueMs: number | null; missed: number }> {
    const k = this.keys.channel(channel);
    const [moved, nextDue, missed] = await this.redis.promoteDelayed(
      k.delayed,
      k.queued,
      k.marker,
      k.tasks,
      k.retries,
      k.scheduleTicks,
      k.scheduleRuns,
      k.schedulePending,
      k.stats,
      Date.now(),
      limit,
      MISSED_AFTER_MS,
    );
    return { moved, nextDueMs: nextDue < 0 ? null : nextDue, missed };
  }

  /**
   * Cancels a queued or delayed task, which keeps a `cancelled` record (and its id) until
   * retention drops it; answers 'running' when the caller must kill it instead.
   */
  async cancel(channel: string, id: string): Promise<'cancelled' | 'running'> {
    const k = this.keys.channel(channel);
    const now = Date.now();
    // with the history on, the run it records needs the command line (a spec never changes)
    const stored = this.options.historyUrl ? await this.redis.hget(k.tasks, id) : null;
    const code = await this.redis.cancelTask(
      k.tasks,
      k.running,
      k.delayed,
      k.distinct,
      k.done,
      k.failed,
      k.cancelled,
      k.stale,
      k.staleCount,
      k.results,
      k.retries,
      k.stats,
      k.historyOutbox,
      id,
      now,
      this.options.resultRetentionCount,
      this.options.resultRetentionAgeMs,
      stored === null ? '' : JSON.stringify(cancelledRecord(readableSpec(stored, id, channel), now)),
      this.options.historyOutboxMax ?? 0,
    );
    if (code === 1) return 'cancelled';
    if (code === 2) return 'running';
    throw brokerError(code, id);
  }

  async retryFailed(channel: string, id: string): Promise<void> {
    const k = this.keys.channel(channel);
    const code = await this.redis.retryFailed(
      k.failed,
      k.queued,
      k.retries,
      k.crashes,
      k.marker,
      k.distinct,
      k.tasks,
      k.stats,
      id,
      Date.now(),
      this.options.distinctTtlMs,
    );
    if (code < 0) throw brokerError(code, id);
  }

  async deleteFailed(channel: string, id: string): Promise<void> {
    const k = this.keys.channel(channel);
    const code = await this.redis.deleteFailed(k.failed, k.tasks, k.results, k.retries, k.crashes, id);
    if (code < 0) throw brokerError(code, id);
  }
}
