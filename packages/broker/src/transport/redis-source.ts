import type { ChannelConfig } from '@coyotes/protocol';
import type { BlockingReads } from '../blocking.js';
import type { ClaimedTask, TaskStore } from '../tasks.js';
import type { TaskSource, TaskSourceOptions } from './task-source.js';

/** The Redis transport: the channel's queued list, claimed by claimTasks-8.lua, woken by the channel's marker. */
export class RedisTaskSource implements TaskSource {
  constructor(
    private readonly tasks: TaskStore,
    private readonly blocking: BlockingReads,
    private channel: ChannelConfig,
    private readonly options: TaskSourceOptions,
  ) {}

  claim(max: number): Promise<ClaimedTask[]> {
    const { name, globalWorkers } = this.channel;
    return this.tasks.claim(name, max, this.options.leaseOwner, this.options.leaseMs, globalWorkers ?? 0);
  }

  async waitForWork(timeoutS: number): Promise<void> {
    await this.blocking.waitForTasks(this.channel.name, timeoutS);
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
