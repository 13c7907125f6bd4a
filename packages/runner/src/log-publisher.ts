import type { Logger } from 'pino';
import type { Broker } from '@coyotes/broker';
import type { TaskResult, TaskSpec } from '@coyotes/protocol';

/** Where an execution's output lines go besides the tails (see ExecutorOptions.output). */
export interface OutputSink {
  line(spec: TaskSpec, stream: 'stdout' | 'stderr', line: string): void;
  /** The execution is over (with this result): resolves once its last lines are written (never rejects). */
  end(spec: TaskSpec, result?: TaskResult): Promise<void>;
}

/** How often buffered lines are written to Redis, in one round trip per task. */
const FLUSH_MS = 50;
/** Lines buffered per task between flushes; beyond it lines are dropped (and counted) rather than held. */
const MAX_BUFFERED_LINES = 500;
const MAX_BUFFERED_BYTES = 256 * 1024;

interface Pending {
  spec: TaskSpec;
  lines: { stream: 'stdout' | 'stderr'; data: string }[];
  bytes: number;
  dropped: number;
  /** The task's byte budget in Redis ran out: its lines are only counted from then on. */
  capped: boolean;
  /** Bytes of lines dropped for lack of budget, told in one marker when the execution ends. */
  droppedBytes: number;
  /** The previous flush of this task, so records stay in order. */
  flushing: Promise<void>;
}

/**
 * Publishes output to the task's log stream in batches. Memory stays bounded whatever a command
 * prints: a follower sees a "lines dropped" note instead of an ever-growing buffer. Redis stays
 * bounded too: past the task's (or the channel's) byte budget lines are dropped, and one marker
 * "output truncated: N bytes dropped" ends the execution's lines. The full output is never the
 * point here; the bounded tails are kept with the result regardless.
 */
export class LogPublisher implements OutputSink {
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly log: Logger,
  ) {}

  line(spec: TaskSpec, stream: 'stdout' | 'stderr', line: string): void {
    const entry = this.entry(spec);
    if (entry.capped) {
      entry.droppedBytes += Buffer.byteLength(line);
      return;
    }
    if (entry.lines.length >= MAX_BUFFERED_LINES || entry.bytes + line.length > MAX_BUFFERED_BYTES) {
      entry.dropped += 1;
    } else {
      entry.lines.push({ stream, data: line });
      entry.bytes += line.length;
    }
    this.timer ??= setTimeout(() => this.flushAll(), FLUSH_MS);
  }

  end(spec: TaskSpec): Promise<void> {
    const entry = this.pending.get(spec.id);
    if (!entry) return Promise.resolve();
    this.pending.delete(spec.id);
    return this.flush(entry).then(() => {
      if (entry.droppedBytes === 0) return;
      const { taskBytes, channelBytes } = this.broker.logs.budget;
      const marker = `[coyotes: output truncated: ${entry.droppedBytes} bytes dropped (log stream budget: ${taskBytes} bytes per task, ${channelBytes} per channel per hour)]`;
      return this.broker.logs
        .note(spec, marker)
        .catch((error: unknown) => this.log.warn({ err: error, taskId: spec.id }, 'writing the truncation marker failed'));
    });
  }

  private entry(spec: TaskSpec): Pending {
    let entry = this.pending.get(spec.id);
    if (!entry) {
      entry = { spec, lines: [], bytes: 0, dropped: 0, capped: false, droppedBytes: 0, flushing: Promise.resolve() };
      this.pending.set(spec.id, entry);
    }
    return entry;
  }

  private flushAll(): void {
    this.timer = undefined;
    for (const entry of this.pending.values()) void this.flush(entry);
  }

  private flush(entry: Pending): Promise<void> {
    const lines = entry.lines;
    if (entry.dropped > 0) lines.push({ stream: 'stderr', data: `[coyotes: ${entry.dropped} lines not streamed (output too fast)]` });
    entry.lines = [];
    entry.bytes = 0;
    entry.dropped = 0;
    if (lines.length === 0) return entry.flushing;
    entry.flushing = entry.flushing
      .then(async () => {
        const dropped = await this.broker.logs.append(entry.spec, lines);
        if (dropped === 0) return;
        entry.capped = true;
        entry.droppedBytes += dropped;
      })
      .catch((error: unknown) => this.log.warn({ err: error, taskId: entry.spec.id }, 'streaming output lines failed'));
    return entry.flushing;
  }
}
