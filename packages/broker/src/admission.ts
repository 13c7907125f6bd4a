import { CoyotesError, TASK_ID_RULE, allowedTaskArgv, checkRunnable, isCoyotesError, isValidTaskId, taskSpecFrom } from '@coyotes/protocol';
import type { ChannelConfig, TaskInput, TaskSource, TaskSpec } from '@coyotes/protocol';
import type { CallbackOutbox } from './callbacks.js';
import type { ChannelRegistry } from './channels.js';
import type { EnqueueOutcome, TaskStore } from './tasks.js';

/** What a producer asked for, through any door: the ingress fields, and the HTTP form's extras. */
export type AdmissionInput = TaskInput & Pick<TaskSpec, 'cwd' | 'env' | 'maxRetries' | 'callback' | 'script' | 'taskJob'>;

/** One task's admission: accepted (queued, delayed, or a duplicate in a distinct channel), or refused with the reason. */
export type Admitted = { taskId: string; outcome: EnqueueOutcome } | { taskId: string | undefined; refused: CoyotesError };

/** The callback safety net: looked at this long after acceptance even if no execution end nudges it. */
const CALLBACK_SAFETY_NET_MS = 3_600_000;

/**
 * The one door for work (BullMQ's Queue.add, addBulk and flows share one too): every way a task
 * enters — HTTP, the ingress list, task-job's queue — passes the same validation, allowlist, callback arming,
 * enqueue and `delayed` event, so no door can accept what another refuses.
 */
export class Admission {
  constructor(
    private readonly tasks: TaskStore,
    private readonly callbacks: CallbackOutbox,
    private readonly channels: ChannelRegistry,
    /** Task `cwd`s must lie inside it (-command-root). */
    private readonly commandRoot: string,
    private readonly newTaskId: () => string,
  ) {}

  /**
   * Admits tasks into one channel, in one enqueue: each gets its outcome, or the refusal that
   * names why (the others are admitted regardless). Rejects only when Redis fails.
   */
  async admit(channel: ChannelConfig, inputs: AdmissionInput[], source: TaskSource): Promise<Admitted[]> {
    const now = Date.now();
    const results: (Admitted | TaskSpec)[] = inputs.map((input) => {
      try {
        return this.validate(channel, input, source, now);
      } catch (error) {
        if (!isCoyotesError(error)) throw error;
        return { taskId: input.id, refused: error };
      }
    });
    const specs = results.filter((result): result is TaskSpec => 'name' in result);
    // armed before the task exists, so no crash can leave a finished task without its callback
    await Promise.all(
      specs
        .filter((spec) => spec.callback)
        .map((spec) => this.callbacks.arm(channel.name, spec.id, (spec.executeAt ?? now) + CALLBACK_SAFETY_NET_MS)),
    );
    const producerIds = new Set(inputs.filter((input) => input.id !== undefined).map((input) => input.id!));
    const outcomes = new Map<TaskSpec, EnqueueOutcome | Error>();
    (await this.tasks.enqueueMany(channel.name, specs, channel, producerIds)).forEach((outcome, i) => outcomes.set(specs[i]!, outcome));
    let firstDue = Infinity;
    const settled: Promise<void>[] = [];
    const admitted = results.map((result): Admitted => {
      if (!('name' in result)) return result;
      const outcome = outcomes.get(result)!;
      if (outcome instanceof Error) {
        if (!isCoyotesError(outcome)) throw outcome;
        return { taskId: result.id, refused: outcome };
      }
      if (outcome === 'duplicate' && result.callback) settled.push(this.callbacks.settle(channel.name, result.id));
      if (outcome === 'delayed') firstDue = Math.min(firstDue, result.executeAt!);
      return { taskId: result.id, outcome };
    });
    await Promise.all(settled);
    // the masters' delayed-task timers learn of the earliest new due time
    if (firstDue !== Infinity) await this.channels.publish({ type: 'delayed', channel: channel.name, dueMs: firstDue });
    return admitted;
  }

  /** Admits one task; a refusal is thrown. */
  async admitOne(channel: ChannelConfig, input: AdmissionInput, source: TaskSource): Promise<{ taskId: string; outcome: EnqueueOutcome }> {
    const [admitted] = await this.admit(channel, [input], source);
    if ('refused' in admitted!) throw admitted.refused;
    return admitted!;
  }

  /**
   * The door checks: the id rule, what can never run on this host (400), what the channel's
   * allowed_commands refuse (403). Answers the spec to store.
   */
  private validate(channel: ChannelConfig, input: AdmissionInput, source: TaskSource, now: number): TaskSpec {
    if (input.id !== undefined && !isValidTaskId(input.id)) throw new CoyotesError('COY_ERR_REQUEST_INVALID', TASK_ID_RULE);
    const spec = taskSpecFrom(input, { id: this.newTaskId(), channel: channel.name, source, now });
    checkRunnable(spec, channel, this.commandRoot);
    allowedTaskArgv(spec, channel);
    return spec;
  }
}
