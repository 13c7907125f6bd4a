import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

export interface SupervisedChildOptions<In> {
  /** For logs: "channel default", "api". */
  label: string;
  entry: URL;
  log: Logger;
  /** Where the child's stdout goes; inherited when absent. */
  output?: Writable;
  env?: NodeJS.ProcessEnv;
  /** The first message after each fork. */
  startMessage: () => In;
  onMessage: (message: unknown) => void;
  /** The child died without being asked to stop (before it is restarted). */
  onCrash: (code: number | null, signal: NodeJS.Signals | null) => void;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** A child that lived this long is healthy again: the backoff restarts from the minimum. */
const HEALTHY_AFTER_MS = 30_000;

/** A forked child over JSON IPC, restarted with capped exponential backoff when it dies. */
export class SupervisedChild<In> {
  private child: ChildProcess | undefined;
  private stopping = false;
  private failures = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();
  restarts = 0;

  constructor(private readonly options: SupervisedChildOptions<In>) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const { options } = this;
    const child = fork(fileURLToPath(options.entry), [], {
      serialization: 'json',
      stdio: ['ignore', options.output ? 'pipe' : 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...options.env },
    });
    if (options.output) child.stdout!.pipe(options.output, { end: false });
    this.child = child;
    this.startedAt = Date.now();
    child.on('message', (message) => options.onMessage(message));
    child.on('error', (error) => options.log.error({ err: error, child: options.label }, 'child process error'));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        if (this.stopping) return;
        this.failures = Date.now() - this.startedAt > HEALTHY_AFTER_MS ? 1 : this.failures + 1;
        const delayMs = Math.min(BACKOFF_MIN_MS * 2 ** (this.failures - 1), BACKOFF_MAX_MS);
        options.log.error({ child: options.label, pid: child.pid, code, signal, delayMs }, 'child process died; restarting');
        options.onCrash(code, signal);
        this.restartTimer = setTimeout(() => {
          this.restarts += 1;
          this.start();
        }, delayMs);
      });
    });
    this.send(options.startMessage());
  }

  send(message: In): void {
    const child = this.child;
    if (!child?.connected) return;
    child.send(message as object, (error) => {
      if (error) this.options.log.warn({ err: error, child: this.options.label }, 'IPC send failed');
    });
  }

  /** Sends the stop message (drain or force) and resolves when the child has exited. */
  async stop(message: In): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    if (!this.alive) return;
    this.send(message);
    await this.exited;
  }

  /** Last resort. */
  killNow(): void {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.child?.kill('SIGKILL');
  }
}
