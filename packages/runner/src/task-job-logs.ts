import type { Logger } from 'pino';
import type { Broker } from '@coyotes/broker';
import { TASK_JOB_LOGS_MAX, taskJobDoneData, taskJobLogRecord } from '@coyotes/protocol';
import type { TaskJobOptions, TaskResult, TaskSpec } from '@coyotes/protocol';
import type { OutputSink } from './log-publisher.js';

/** How often buffered records are written, in one round trip per task. */
const FLUSH_MS = 50;
/** Records buffered per task between flushes; beyond, lines are counted, not held (memory stays bounded). */
const MAX_BUFFERED_RECORDS = 1000;

interface Pending {
  spec: TaskSpec & { taskJob: { type: string } };
  records: string[];
  dropped: number;
  /** The previous write of this task, so its records stay in order. */
  writing: Promise<void>;
}

/**
 * task-job's execution logs: every stdout and stderr line of a task that came in through
 * task-job's queue, then one `done` record, as TaskLog records RPUSHed to `logs_channel` (and
 * queued for `logs_http`), in order per task. The command never waits for Redis: records are
 * buffered and written in batches; a command printing faster than Redis takes them loses lines,
 * and a record says how many.
 */
export class TaskJobLogSink implements OutputSink {
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly options: TaskJobOptions,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {}

  line(spec: TaskSpec, stream: 'stdout' | 'stderr', line: string): void {
    // task-job reports no empty line
    if (spec.taskJob === undefined || line === '') return;
    const entry = this.entry(spec as Pending['spec']);
    if (entry.records.length >= MAX_BUFFERED_RECORDS) entry.dropped += 1;
    else entry.records.push(taskJobLogRecord(spec.id, spec.taskJob.type, stream, line));
    this.timer ??= setTimeout(() => this.flushAll(), FLUSH_MS);
  }

  end(spec: TaskSpec, result?: TaskResult): Promise<void> {
    if (spec.taskJob === undefined || result === undefined) return Promise.resolve();
    const entry = this.entry(spec as Pending['spec']);
    this.pending.delete(spec.id);
    entry.records.push(taskJobLogRecord(spec.id, spec.taskJob.type, 'done', taskJobDoneData(result)));
    return this.flush(entry);
  }

  private entry(spec: Pending['spec']): Pending {
    let entry = this.pending.get(spec.id);
    if (!entry) {
      entry = { spec, records: [], dropped: 0, writing: Promise.resolve() };
      this.pending.set(spec.id, entry);
    }
    return entry;
  }

  private flushAll(): void {
    this.timer = undefined;
    for (const entry of this.pending.values()) void this.flush(entry);
  }

  private flush(entry: Pending): Promise<void> {
    const records = entry.records;
    if (entry.dropped > 0) {
      const note = `[coyotes: ${entry.dropped} lines not reported (output too fast)]`;
      // before the done record, if this is the last flush
      const at = records.length > 0 && records.at(-1)!.includes('"msg_type": "done"') ? records.length - 1 : records.length;
      records.splice(at, 0, taskJobLogRecord(entry.spec.id, entry.spec.taskJob.type, 'stderr', note));
    }
    entry.records = [];
    entry.dropped = 0;
    if (records.length === 0) return entry.writing;
    const { logsChannel, logsHttp } = this.options;
    entry.writing = entry.writing
      .then(() =>
        this.broker.taskJob.appendLogs(logsChannel, this.nodeId, records, {
          toList: true,
          toHttp: logsHttp !== undefined,
          keep: TASK_JOB_LOGS_MAX,
        }),
      )
      .catch((error: unknown) => this.log.warn({ err: error, taskId: entry.spec.id }, 'writing task-job log records failed'));
    return entry.writing;
  }
}

/** Sends every line and end to each sink; an end is over when every sink's is. */
export class TeeSink implements OutputSink {
  constructor(private readonly sinks: OutputSink[]) {}

  line(spec: TaskSpec, stream: 'stdout' | 'stderr', line: string): void {
    for (const sink of this.sinks) sink.line(spec, stream, line);
  }

  async end(spec: TaskSpec, result?: TaskResult): Promise<void> {
    await Promise.all(this.sinks.map((sink) => sink.end(spec, result)));
  }
}
