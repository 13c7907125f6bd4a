import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { AdmissionInput, BlockingReads, Broker } from '@coyotes/broker';
import { NODE_DEAD_AFTER_MS, isCoyotesError, parseTaskJobControl, parseTaskJobEntry } from '@coyotes/protocol';
import type { ChannelConfig, TaskJobOptions } from '@coyotes/protocol';
import { BatchChannels } from './batch-channels.js';
import { TaskJobLogPoster } from './task-job-http.js';

/** Entries taken from a task-job list per round trip. */
const BATCH = 500;
const WAIT_S = 1;
/** How often dead nodes' task-job lists are looked for. */
const REAP_MS = 2000;
/** A kill for an id not accepted yet (its Task may still be on its way in) is looked at again for this long. */
const KILL_UNKNOWN_RETRY_MS = 5000;
const KILL_UNKNOWN_EVERY_MS = 500;

export interface TaskJobServiceOptions {
  broker: Broker;
  nodeId: string;
  taskJob: TaskJobOptions;
  channelDefault: string;
  /** A channel this master knows, by name. */
  channel: (name: string) => ChannelConfig | undefined;
  log: Logger;
}

/**
 * task-job's side of a master: moves Task records from task-job's queue into channels (through
 * the same door as every task), obeys TaskControl records (kill a running task wherever it runs,
 * cancel a queued one), posts TaskLog records to `logs_http`, and gives a dead master's in-flight
 * entries and undelivered records to a live one. Every master runs it; the lists' in-flight
 * moves and the producer id index make each Task run once.
 */
export class TaskJobService {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly blocking: BlockingReads[] = [];
  private reapTimer: NodeJS.Timeout | undefined;
  private readonly poster: TaskJobLogPoster | undefined;
  private readonly log: Logger;

  constructor(private readonly o: TaskJobServiceOptions) {
    this.log = o.log.child({ taskJob: o.taskJob.queue });
    if (o.taskJob.logs && o.taskJob.logsHttp !== undefined) {
      this.poster = new TaskJobLogPoster(o.broker, o.nodeId, o.taskJob.logsChannel, o.taskJob.logsHttp, this.log);
    }
  }

  async start(): Promise<void> {
    const { broker, nodeId, taskJob } = this.o;
    await broker.taskJob.register(nodeId);
    this.running = true;
    this.loops.push(this.consume(taskJob.queue, (entries) => this.admit(entries)));
    this.loops.push(this.consume(taskJob.controlQueue, (entries) => this.control(entries)));
    this.poster?.start();
    this.reapTimer = setInterval(() => void this.reap(), REAP_MS);
    this.log.info(
      { queue: taskJob.queue, controlQueue: taskJob.controlQueue, logs: taskJob.logs, logsChannel: taskJob.logsChannel },
      'task-job queues consumed',
    );
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.reapTimer);
    for (const reads of this.blocking) reads.close();
    await Promise.all([...this.loops, this.poster?.stop()]);
  }

  /** Reads `list` oldest first through this node's in-flight list; `handle` settles every entry it is given. */
  private async consume(list: string, handle: (entries: string[]) => Promise<void>): Promise<void> {
    const { broker, nodeId } = this.o;
    const blocking = broker.blockingReads();
    this.blocking.push(blocking);
    let failures = 0;
    let recoverFirst = true;
    while (this.running) {
      try {
        if (recoverFirst) {
          // what this node held when a round failed half-way goes first, in its order
          const recovered = await broker.taskJob.recover(list, nodeId);
          if (recovered > 0) this.log.warn({ list, recovered }, 'returned in-flight task-job entries to their list');
          recoverFirst = false;
        }
        let entries = await broker.taskJob.claim(list, nodeId, BATCH);
        if (entries.length === 0) {
          const first = await blocking.popTaskJob(list, nodeId, WAIT_S);
          if (first === null) continue;
          entries = [first];
        }
        await handle(entries);
        await broker.taskJob.release(list, nodeId);
        failures = 0;
      } catch (error) {
        if (!this.running) break;
        failures += 1;
        recoverFirst = true;
        this.log.warn({ err: error, list }, 'reading a task-job list failed; retrying');
        await sleep(Math.min(100 * 2 ** failures, 5000));
      }
    }
  }

  /** Task records: into their channels through the one door, in order; what can never run goes to the dead letters with the reason. */
  private async admit(entries: string[]): Promise<void> {
    const { taskJob, channelDefault } = this.o;
    const byChannel = new Map<string, { config: ChannelConfig; inputs: AdmissionInput[]; raw: string[] }>();
    const letters: Promise<void>[] = [];
    const channels = new BatchChannels(this.o.channel, this.o.broker);
    for (const entry of entries) {
      const parsed = parseTaskJobEntry(entry, taskJob.cmdDir);
      if (!parsed.ok) {
        letters.push(this.deadLetter(`task-job queue ${taskJob.queue}: ${parsed.reason}`, entry));
        continue;
      }
      const task = parsed.value;
      // task-job's tube named no channel of Coyotes': a tube that names one picks it
      const tube = task.tube === undefined ? undefined : await channels.get(task.tube);
      const name = tube ? task.tube! : channelDefault;
      const config = tube ?? (await channels.get(name));
      if (!config) {
        letters.push(this.deadLetter(`task-job queue ${taskJob.queue}: unknown channel "${name}"`, entry));
        continue;
      }
      const input: AdmissionInput = {
        id: task.id,
        name: task.line,
        command: { name: task.argv[0]!, args: task.argv.slice(1) },
        cwd: taskJob.cmdDir,
        taskJob: { type: task.type },
      };
      if (task.timeoutMs !== undefined) input.timeoutMs = task.timeoutMs;
      const group = byChannel.get(name) ?? { config, inputs: [], raw: [] };
      group.inputs.push(input);
      group.raw.push(entry);
      byChannel.set(name, group);
    }
    await Promise.all([...letters, ...[...byChannel.values()].map((group) => this.enqueue(group.config, group.inputs, group.raw))]);
  }

  private async enqueue(config: ChannelConfig, inputs: AdmissionInput[], raw: string[]): Promise<void> {
    // task-job ids are the producer's: the cross-channel index keeps each to one task
    const admitted = await this.o.broker.admission.admit(config, inputs, 'task-job');
    await Promise.all(
      admitted.map(async (result, i) => {
        if (!('refused' in result)) return;
        const refused = result.refused;
        // the same id in the same channel: that task exists (an entry given back after a crash), nothing is lost
        if (isCoyotesError(refused, 'COY_ERR_TASK_ID_EXISTS') && refused.hint === undefined) return;
        await this.deadLetter(`task-job queue ${this.o.taskJob.queue}: ${refused.message}`, raw[i]!);
      }),
    );
  }

  /** TaskControl records: each handled on its own (a kill waiting for its task does not hold the others up). */
  private async control(entries: string[]): Promise<void> {
    await Promise.all(entries.map((entry) => this.controlOne(entry)));
  }

  private async controlOne(entry: string): Promise<void> {
    const { broker, taskJob } = this.o;
    const parsed = parseTaskJobControl(entry);
    if (!parsed.ok) return this.deadLetter(`task-job control queue ${taskJob.controlQueue}: ${parsed.reason}`, entry);
    const { id } = parsed.value;
    const deadline = Date.now() + KILL_UNKNOWN_RETRY_MS;
    for (;;) {
      const view = await broker.queries.locate(await broker.channels.namesWithRetired(), id);
      if (view) {
        // the kill/cancel path of DELETE /channels/:name/tasks/:id: cancelled if it waits, killed wherever it runs
        try {
          const outcome = await broker.tasks.cancel(view.spec.channel, id);
          if (outcome === 'running') await broker.channels.publish({ type: 'kill', channel: view.spec.channel, taskId: id });
          this.log.info(
            { taskId: id, channel: view.spec.channel },
            outcome === 'running' ? 'task-job kill: killing' : 'task-job kill: cancelled',
          );
        } catch (error) {
          if (!isCoyotesError(error, 'COY_ERR_TASK_FINISHED')) throw error;
          // task-job ignores a kill of a task that is not running
          this.log.info({ taskId: id }, 'task-job kill: the task had already finished');
        }
        return;
      }
      if (Date.now() > deadline || !this.running) break;
      await sleep(KILL_UNKNOWN_EVERY_MS);
    }
    await this.deadLetter(`task-job control queue ${taskJob.controlQueue}: no task has id ${id}`, entry);
  }

  /** Nodes that held task-job lists and are dead: their in-flight entries go back, their outbox comes here. */
  private async reap(): Promise<void> {
    const { broker, nodeId, taskJob } = this.o;
    try {
      const live = new Set((await broker.nodes.live(NODE_DEAD_AFTER_MS)).map((node) => node.nodeId));
      for (const dead of await broker.taskJob.registered()) {
        if (dead === nodeId || live.has(dead)) continue;
        const entries = (await broker.taskJob.recover(taskJob.queue, dead)) + (await broker.taskJob.recover(taskJob.controlQueue, dead));
        const records = await broker.taskJob.adoptOutbox(taskJob.logsChannel, dead, nodeId);
        await broker.taskJob.unregister(dead);
        if (entries + records > 0)
          this.log.warn({ deadNodeId: dead, entries, records }, 'node is dead: took over its task-job entries and log records');
      }
    } catch (error) {
      this.log.warn({ err: error }, 'recovering dead nodes’ task-job lists failed');
    }
  }

  private async deadLetter(reason: string, payload: string): Promise<void> {
    this.log.warn({ reason, payload: payload.slice(0, 200) }, 'dead-lettered a task-job entry');
    await this.o.broker.deadLetters.add({ reason, payload, at: Date.now(), nodeId: this.o.nodeId });
  }
}
