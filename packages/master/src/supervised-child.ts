import { fork } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import cluster from 'node:cluster';
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
  /**
   * Forked as a cluster worker: its `listen()` on a port shares the socket master binds with
   * every other such child (the api processes), and each child accepts on it itself. Such a
   * child drops messages that arrive before its entry module has loaded, so it says
   * `{ type: 'hello' }` when it listens and master holds every message until then.
   */
  sharesListeners?: boolean;
  /** The first message after each fork. */
  startMessage: () => In;
  onMessage: (message: unknown) => void;
  /** The child died without being asked to stop (before it is restarted). */
  onCrash: (code: number | null, signal: NodeJS.Signals | null) => void;
  /** The clock a child's lifetime is measured on (its restart backoff); tests pass one in. @defaultValue Date.now */
  now?: () => number;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** A child that lived this long is healthy again: the backoff restarts from the minimum. */
const HEALTHY_AFTER_MS = 30_000;

function forkChild(options: SupervisedChildOptions<unknown>): ChildProcess {
  const exec = fileURLToPath(options.entry);
  const stdio: StdioOptions = ['ignore', options.output ? 'pipe' : 'inherit', 'inherit', 'ipc'];
  const env = { ...process.env, ...options.env };
  if (!options.sharesListeners) return fork(exec, [], { serialization: 'json', stdio, env });
  // set before the first cluster fork, which freezes it: each worker accepts on the shared socket
  // itself, so master never sits between a client and the api (round robin would make master
  // accept every connection and hand it over)
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec, args: [], serialization: 'json', stdio });
  return cluster.fork(env).process;
}

/** A forked child over JSON IPC, restarted with capped exponential backoff when it dies. */
export class SupervisedChild<In> {
  private child: ChildProcess | undefined;
  private stopping = false;
  private failures = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Messages held until the child has said hello (cluster workers only). */
  private held: In[] | undefined;
  restarts = 0;

  constructor(private readonly options: SupervisedChildOptions<In>) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const { options } = this;
    const child = forkChild(options);
    if (options.output) child.stdout!.pipe(options.output, { end: false });
    this.child = child;
    this.startedAt = this.now();
    this.held = options.sharesListeners ? [] : undefined;
    child.on('message', (message) => {
      if (this.held && (message as { type?: string }).type === 'hello') {
        const held = this.held;
        this.held = undefined;
        for (const one of held) this.send(one);
        return;
      }
      options.onMessage(message);
    });
    child.on('error', (error) => options.log.error({ err: error, child: options.label }, 'child process error'));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        if (this.stopping) return;
        this.failures = this.now() - this.startedAt > HEALTHY_AFTER_MS ? 1 : this.failures + 1;
        const delayMs = Math.min(BACKOFF_MIN_MS * 2 ** (this.failures - 1), BACKOFF_MAX_MS);
        options.log.error(
          { event: 'child-restarting', child: options.label, pid: child.pid, code, signal, delayMs },
          'child process died; restarting',
        );
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
    if (this.held) {
      this.held.push(message);
      return;
    }
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
