import type { Logger } from 'pino';
import { setLongTimeout, unranResult } from '@coyotes/protocol';
import type { ChannelConfig, RunAsUser, TaskOutcome, TaskResult, TaskSpec } from '@coyotes/protocol';
import { allowedTaskArgv, checkTaskSpec, taskCwd, taskEnv } from './argv.js';
import type { OutputSink } from './log-publisher.js';
import { LineSplitter, TailBuffer } from './output.js';
import { processGroupMembers } from './process-groups.js';
import { writeScriptFile } from './script-file.js';
import type { ScriptFile } from './script-file.js';
import { NodeSpawner } from './spawner/node-spawner.js';
import type { SpawnedCommand, Spawner } from './spawner/spawner.js';
import { spawnFailure } from './spawn-failure.js';

export interface ExecutorOptions {
  commandRoot: string;
  killGraceMs: number;
  outputTailBytes: number;
  host: string;
  nodeId: string;
  /** Run commands as this user (`--run-as`); Coyotes' own user when absent. */
  runAs?: RunAsUser;
  /** Receives output lines (the live log stream); the runner ends each execution there. */
  output?: OutputSink;
  /** What starts the commands. @defaultValue node:child_process */
  spawner?: Spawner;
}

const nodeSpawner = new NodeSpawner();

/** What login(1) would set for the user, so a command does not read root's home. */
const userEnv = (user: RunAsUser): Record<string, string> => ({ HOME: user.home, USER: user.user, LOGNAME: user.user });

/** After the command exits, how long its pipes may stay open (held by a backgrounded grandchild). */
const PIPE_DRAIN_MS = 1000;

/**
 * The result of an execution that never started because starting it threw: what the executor
 * did not foresee still fails the one task, with a reason, instead of its channel process.
 */
export function unstartedResult(error: unknown, options: Pick<ExecutorOptions, 'host' | 'nodeId'>): TaskResult {
  return unranResult('spawn-error', Date.now(), {
    exitCode: 127,
    host: options.host,
    nodeId: options.nodeId,
    error: `cannot start the task: ${error instanceof Error ? error.message : String(error)}`,
  });
}

/**
 * One running command, leader of its own process group so that a signal to Coyotes never
 * reaches it and a kill or timeout takes its whole tree.
 */
export class Execution {
  /** Known once the command started: at once with node:child_process, a moment later natively. */
  pid: number | null;
  /** Resolves with the pid once the command started, or null when it could not start. */
  readonly started: Promise<number | null>;
  readonly done: Promise<TaskResult>;
  private stopReason: TaskOutcome | null = null;
  /** A stop or kill asked for before the pid was known, applied when it is. */
  private onSpawn: (() => void) | undefined;
  /**
   * Set by stop() or the leader's exit: settles when the group is empty, or once the grace period
   * ended in SIGKILL.
   */
  private groupReaped: Promise<void> = Promise.resolve();
  /** Once the leader exited, its group is being reaped already: a kill or timeout changes nothing. */
  private leaderExited = false;

  constructor(spec: TaskSpec, channel: ChannelConfig, options: ExecutorOptions, log: Logger) {
    const startedAt = Date.now();
    const stdout = new TailBuffer(options.outputTailBytes);
    const stderr = new TailBuffer(options.outputTailBytes);
    const finish = (outcome: TaskOutcome, exitCode: number | null, signal: string | null, error?: string): TaskResult => {
      const finishedAt = Date.now();
      return {
        outcome,
        exitCode,
        signal,
        startedAt,
        finishedAt,
        durationMs: finishedAt - startedAt,
        host: options.host,
        nodeId: options.nodeId,
        pid: this.pid,
        stdoutTail: stdout.toString(),
        stderrTail: stderr.toString(),
        ...(error === undefined ? {} : { error }),
      };
    };

    let argv: string[];
    let cwd: string | undefined;
    let script: ScriptFile | undefined;
    try {
      checkTaskSpec(spec);
      argv = allowedTaskArgv(spec, channel);
      cwd = taskCwd(spec.cwd, options.commandRoot);
      // an uploaded script runs as `interpreter <file> args...`
      if (spec.script) script = writeScriptFile(spec.script, options.commandRoot, options.runAs);
      if (script) argv = [argv[0]!, script.path, ...argv.slice(1)];
    } catch (error) {
      // refused before anything ran: 127, as a shell says when it cannot run a command
      this.pid = null;
      log.warn({ event: 'task-unstartable', taskId: spec.id, reason: (error as Error).message }, 'task could not start');
      this.started = Promise.resolve(null);
      this.done = Promise.resolve(finish('spawn-error', 127, null, (error as Error).message));
      return;
    }

    let child: SpawnedCommand;
    try {
      child = (options.spawner ?? nodeSpawner).spawn(argv, {
        cwd,
        env: taskEnv(process.env, options.runAs ? { ...userEnv(options.runAs), ...spec.env } : spec.env),
        uid: options.runAs?.uid,
        gid: options.runAs?.gid,
      });
    } catch (error) {
      // node:child_process throws at once for most errnos (ENAMETOOLONG, E2BIG, ENOTDIR, EPERM, a
      // NUL byte…) and reports only a few (ENOENT, EACCES…) as 'error' below: both fail this task alone
      script?.remove();
      const failure = spawnFailure(error, argv[0]!, cwd);
      this.pid = null;
      this.started = Promise.resolve(null);
      this.done = Promise.resolve(finish('spawn-error', failure.exitCode, null, failure.reason));
      return;
    }
    this.pid = child.pid ?? null;
    this.started = new Promise((resolve) => {
      if (this.pid !== null) return resolve(this.pid);
      child.once('spawn', () => {
        this.pid = child.pid ?? null;
        resolve(this.pid);
        this.onSpawn?.();
      });
      child.once('error', () => resolve(null));
    });

    for (const [name, stream, tail] of [
      ['stdout', child.stdout, stdout],
      ['stderr', child.stderr, stderr],
    ] as const) {
      // absent when the spawn failed before its pipes were made (EMFILE): the 'error' below ends it;
      // node:child_process then leaves them undefined, not null
      if (!stream) continue;
      const lines = new LineSplitter((line) => {
        // debug, not info: a command printing as fast as it can must not copy itself into our log
        log.debug({ taskId: spec.id, stream: name, line }, name);
        options.output?.line(spec, name, line);
      });
      stream.on('data', (chunk: Buffer) => {
        tail.push(chunk);
        lines.push(chunk);
      });
      stream.on('end', () => lines.end());
      stream.on('error', () => undefined);
    }

    const timeoutMs = spec.timeoutMs || channel.timeoutMs;
    const timeout = timeoutMs > 0 ? setLongTimeout(() => this.stop('timed-out', options.killGraceMs), timeoutMs) : undefined;

    let closed = false;
    const pipesClosed = new Promise<void>((resolve) =>
      child.once('close', () => {
        closed = true;
        resolve();
      }),
    );
    this.done = new Promise<TaskResult>((resolve) => {
      child.once('error', (error) => {
        timeout?.clear();
        const failure = spawnFailure(error, argv[0]!, cwd);
        resolve(finish('spawn-error', failure.exitCode, null, failure.reason));
      });
      child.once('exit', (code, signal) => {
        timeout?.clear();
        // the leader is gone: what it left running in its group (`cmd &`) goes too, SIGTERM then
        // SIGKILL, so nothing of the task runs on outside the worker limit and the timeout
        if (this.stopReason === null && this.pid !== null && (child.groupLeft ?? groupExists(this.pid))) {
          signalGroup(this.pid, 'SIGTERM');
          this.groupReaped = reapGroup(this.pid, options.killGraceMs);
        }
        this.leaderExited = true;
        const settle = (): void => {
          const outcome: TaskOutcome = this.stopReason ?? (signal ? 'signaled' : 'exited');
          resolve(finish(outcome, code, signal));
        };
        // a stopped command is over when its whole tree is: a grandchild that ignored SIGTERM
        // gets its SIGKILL before the slot takes another task (and before a drain can exit)
        void this.groupReaped.then(() => {
          // most commands: the pipes ended with the exit, no timer to arm and clear
          if (closed) return settle();
          // wait for the pipes to flush, but not for a grandchild that keeps them open
          const drain = setTimeout(() => {
            child.stdout?.destroy();
            child.stderr?.destroy();
            settle();
          }, PIPE_DRAIN_MS);
          void pipesClosed.then(() => {
            clearTimeout(drain);
            settle();
          });
        });
      });
    });
    void this.done.then(() => script?.remove());
  }

  /** SIGTERM to the whole process group, SIGKILL after the grace period. */
  stop(reason: TaskOutcome, graceMs: number): void {
    if (this.pid === null) {
      this.onSpawn = () => this.stop(reason, graceMs);
      return;
    }
    if (this.stopReason !== null || this.leaderExited) return;
    this.stopReason = reason;
    signalGroup(this.pid, 'SIGTERM');
    this.groupReaped = reapGroup(this.pid, graceMs);
  }

  /** SIGKILL to the whole process group at once. */
  kill(reason: TaskOutcome): void {
    if (this.pid === null) {
      this.onSpawn = () => this.kill(reason);
      return;
    }
    this.stopReason ??= reason;
    signalGroup(this.pid, 'SIGKILL');
  }
}

const REAP_POLL_MS = 50;

/** Groups being stopped, by leader pid: when each must be SIGKILLed, and who waits for its end. */
const reaping = new Map<number, { deadline: number; done: () => void }>();
let reapTimer: NodeJS.Timeout | undefined;

/**
 * Resolves once no live process of the group is left, or SIGKILLs the group when the grace period
 * ends first. A member that is a zombie has ended: a grandchild whose parent died before it is
 * reparented to init and stays a zombie until init reaps it, which can take seconds (or never,
 * with Node as a container's PID 1), and the kill(2) probe counts it. One poll serves every group
 * being stopped, with at most one pass over /proc (100 commands timing out together must not
 * read /proc 100 times every 50 ms).
 */
function reapGroup(pid: number, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = Date.now() + graceMs;
    const waiting = reaping.get(pid);
    if (waiting) {
      // asked twice: both are told, at the earlier deadline
      const told = waiting.done;
      reaping.set(pid, { deadline: Math.min(deadline, waiting.deadline), done: () => (told(), resolve()) });
    } else {
      reaping.set(pid, { deadline, done: resolve });
    }
    reapTimer ??= setInterval(pollReaping, REAP_POLL_MS);
  });
}

function pollReaping(): void {
  const now = Date.now();
  const probed = [...reaping.keys()].filter((pid) => groupExists(pid));
  const live = probed.length > 0 ? processGroupMembers(probed) : new Map<number, number[]>();
  for (const [pid, { deadline, done }] of reaping) {
    if ((live.get(pid)?.length ?? 0) > 0 && now < deadline) continue;
    signalGroup(pid, 'SIGKILL');
    reaping.delete(pid);
    done();
  }
  if (reaping.size === 0) {
    clearInterval(reapTimer);
    reapTimer = undefined;
  }
}

function groupExists(pid: number): boolean {
  // asked after every command's exit, when the group is usually gone: the ESRCH error is thrown
  // without a stack trace, whose capture cost more than the kill(2) itself
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** Signals a process group; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
