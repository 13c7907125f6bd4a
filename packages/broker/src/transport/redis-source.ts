import type { ChannelConfig, TaskResult } from '@coyotes/protocol';
import type { BlockingReads } from '../blocking.js';
import type { CompletionOutcome, CompletionPolicy } from '../completion.js';
import type { ClaimedTask, TaskStore } from '../tasks.js';
import type { ClaimWaiting, TaskSource, TaskSourceOptions } from './task-source.js';

/**
 * The Redis transport: the channel's queued list, claimed by claimTasks-10.lua; an idle claimer
 * blocks on the channel's hand-off list and marker, and a finished task's slot claims its next
 * task in the script that records the result (finishTask-23.lua).
 */
export class RedisTaskSource implements TaskSource {
  constructor(
    private readonly tasks: TaskStore,
    private readonly blocking: BlockingReads,
    private channel: ChannelConfig,
    private readonly options: TaskSourceOptions,
  ) {}

  claim(max: number, waiting: ClaimWaiting = { woke: false, willWait: false }): Promise<ClaimedTask[]> {
    const { name, globalWorkers } = this.channel;
    return this.tasks.claim(name, max, this.options.leaseOwner, this.options.leaseMs, globalWorkers ?? 0, waiting);
  }

  waitForWork(timeoutS: number): Promise<ClaimedTask | 'woken' | null> {
    return this.blocking.waitForTask(this.channel.name, timeoutS);
  }

  finish(
    task: ClaimedTask,
    result: TaskResult,
    policy: CompletionPolicy,
    max: number,
  ): Promise<{ outcome: CompletionOutcome; claimed: ClaimedTask[] }> {
    const { leaseOwner: tokenPrefix, leaseMs } = this.options;
    return this.tasks.finish(task, result, policy, { max, tokenPrefix, leaseMs, globalCap: this.channel.globalWorkers ?? 0 });
  }

  settle(): void {}

  configure(channel: ChannelConfig): void {
    this.channel = channel;
  }

  stopTaking(): void {
    this.blocking.close();
  }

  async close(): Promise<void> {}
}
