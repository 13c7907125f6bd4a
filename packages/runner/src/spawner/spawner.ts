import type { EventEmitter } from 'node:events';

/** What starts a channel process's commands: the native helper, or node:child_process as the fallback. */
export type SpawnerKind = 'native' | 'node';

/** How to start one command (argv[0] is looked up on the PATH of `env` when it names no path, as execvp does). */
export interface CommandOptions {
  /** Its working directory; Coyotes' own when absent. */
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** Run as this user and group (`-run-as`); supplementary groups are dropped. */
  uid?: number;
  gid?: number;
}

/** One of a command's output pipes: `data` (Buffer) events, then `end`; `destroy` stops reading. */
export interface CommandOutput extends EventEmitter {
  destroy(): void;
}

/**
 * A started command: the subset of node:child_process's ChildProcess both spawners provide.
 * Events: `spawn` (the pid is known), or `error` when it could not start (the message reads
 * `spawn <program> <ERRNO CODE>`); then `exit` (code, signal) and `close` once both pipes ended.
 * `exit` may come before the pipes end: a grandchild can keep them open.
 */
export interface SpawnedCommand extends EventEmitter {
  /** Leader of its own process group; undefined until `spawn`, and when it could not start. */
  readonly pid?: number | undefined;
  /**
   * Set with `exit` by a spawner that knows it (the native one asks as it reaps): whether processes
   * of the command's group outlived it. Undefined: the executor asks the system itself.
   */
  readonly groupLeft?: boolean | undefined;
  readonly stdout: CommandOutput;
  readonly stderr: CommandOutput;
}

/**
 * Starts commands in their own process group, stdin closed, stdout and stderr piped. Signals go
 * to the process group directly (`signalGroup`), whatever the spawner.
 */
export interface Spawner {
  readonly kind: SpawnerKind;
  spawn(argv: string[], options: CommandOptions): SpawnedCommand;
  /** Lets the spawner go (the native helper exits once its control pipe closes). */
  close(): void;
}
