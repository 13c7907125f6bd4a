import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { split } from 'shlex';
import type { ChannelConfig } from './channel.js';
import { CoyotesError } from './errors.js';
import type { TaskSpec } from './task.js';

/**
 * The door every task passes, whatever way it came in (HTTP or the prepare queue): what can
 * never run is refused here, with a code and a message naming the field, instead of being
 * accepted to fail (or to take its channel process down) later.
 */

/** The longest `delay` (and the farthest `execute_at`): ten years, in seconds. */
export const MAX_DELAY_S = 10 * 365 * 24 * 3600;
/** The longest `timeout`: thirty days, in seconds. */
export const MAX_TIMEOUT_S = 30 * 24 * 3600;
/** Bytes of exec room kept back for what the runner adds (run-as HOME/USER/LOGNAME, differences in its environment). */
export const EXEC_RESERVE_BYTES = 4096;
/** Bytes an uploaded script's file path may take beyond the command root (`/.coyotes-scripts/<name>`). */
const SCRIPT_PATH_BYTES = 128;
const POINTER_BYTES = 8;

/** What one exec(2) on this host can take, measured once per process. */
export interface ExecLimits {
  /** ARG_MAX (`getconf ARG_MAX`): argv and environment strings, their NULs and pointers, together. */
  argMax: number;
  /** MAX_ARG_STRLEN: one argument or `NAME=value`, its NUL included (32 pages on Linux). */
  argStrMax: number;
  /** NAME_MAX: one path component of the program. */
  nameMax: number;
  /** PATH_MAX: the program's path, its NUL included. */
  pathMax: number;
  /** What this process's environment takes of ARG_MAX (commands inherit it, filtered). */
  baseEnvBytes: number;
}

/** Every value `getconf -a` prints (path values for `/`), read with one process: start-up stays cheap under load. */
function getconfAll(): Map<string, number> {
  const values = new Map<string, number>();
  try {
    const text = execFileSync('getconf', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const line of text.split('\n')) {
      const match = /^(\w+)\s+(\d+)$/.exec(line.trim());
      if (match) values.set(match[1]!, Number(match[2]));
    }
  } catch {
    // no getconf: the fallbacks below
  }
  return values;
}

/** Bytes one exec string takes: its UTF-8 bytes, its NUL and its pointer. */
const execBytes = (value: string): number => Buffer.byteLength(value) + 1 + POINTER_BYTES;

/** Measures this host's exec limits with `getconf -a` (fallbacks: Linux's historical values when it is missing). */
export function measureExecLimits(env: NodeJS.ProcessEnv = process.env): ExecLimits {
  let baseEnvBytes = 0;
  for (const [name, value] of Object.entries(env)) if (value !== undefined) baseEnvBytes += execBytes(`${name}=${value}`);
  const conf = getconfAll();
  const value = (name: string, fallback: number) => {
    const found = conf.get(name);
    return found !== undefined && Number.isSafeInteger(found) && found > 0 ? found : fallback;
  };
  return {
    argMax: value('ARG_MAX', 131_072),
    argStrMax: 32 * value('PAGESIZE', 4096),
    nameMax: value('NAME_MAX', 255),
    pathMax: value('PATH_MAX', 4096),
    baseEnvBytes,
  };
}

let measured: ExecLimits | undefined;

/** This process's exec limits, measured on first use (call it at start). */
export function execLimits(): ExecLimits {
  measured ??= measureExecLimits();
  return measured;
}

/** What shlex treats as more than a word character: quotes, the escape, `$''` and `$""` quoting. */
const SHLEX_SPECIAL = /['"\\$]/;
/** shlex's whitespace: the only separators of a line with none of the above. */
const SHLEX_WHITESPACE = /[ \t\r\n]+/;

/**
 * The argv a task runs: `command` + `args` exactly; a bare task line split with shell-like
 * quoting and no expansion; or `/bin/sh -c line` in channels that opt into a shell.
 */
export function taskArgv(spec: Pick<TaskSpec, 'name' | 'command'>, channel: Pick<ChannelConfig, 'shell'>): string[] {
  if (spec.command) return [spec.command.name, ...spec.command.args];
  if (channel.shell) return ['/bin/sh', '-c', spec.name];
  let argv: string[];
  // a line without quotes, escapes or `$` splits on whitespace alone, as shlex would split it:
  // the common case skips shlex's character-by-character tokenizer (it showed in profiles)
  if (!SHLEX_SPECIAL.test(spec.name)) {
    argv = spec.name.split(SHLEX_WHITESPACE).filter((word) => word !== '');
    if (argv.length === 0) throw new CoyotesError('COY_ERR_TASK_INVALID', 'task: empty command line');
    return argv;
  }
  try {
    argv = split(spec.name);
  } catch (error) {
    throw new CoyotesError('COY_ERR_TASK_INVALID', `task: cannot split command line: ${(error as Error).message}`);
  }
  if (argv.length === 0) throw new CoyotesError('COY_ERR_TASK_INVALID', 'task: empty command line');
  return argv;
}

/**
 * The working directory of a task: the master's own when the task names none; otherwise it must
 * resolve (symlinks included) inside the command root.
 */
export function taskCwd(cwd: string | undefined, commandRoot: string): string | undefined {
  if (cwd === undefined || cwd === '') return undefined;
  let root: string;
  try {
    root = realpathSync(commandRoot);
  } catch {
    throw new CoyotesError('COY_ERR_TASK_INVALID', `cwd ${cwd}: the command root ${commandRoot} does not exist on this host`);
  }
  let resolved: string;
  try {
    resolved = realpathSync(path.resolve(root, cwd));
  } catch {
    throw new CoyotesError('COY_ERR_TASK_INVALID', `cwd ${cwd} does not exist`);
  }
  if (resolved !== root && !resolved.startsWith(root + path.sep)) {
    throw new CoyotesError('COY_ERR_TASK_INVALID', `cwd ${cwd} lies outside the command root ${commandRoot}`);
  }
  return resolved;
}

const tooLarge = (message: string) => new CoyotesError('COY_ERR_TASK_TOO_LARGE', message);

/** The field a part of the argv came from, for messages. */
function argvField(spec: Pick<TaskSpec, 'command'>, index: number): string {
  if (!spec.command) return 'task';
  return index === 0 ? 'command' : `args[${index - 1}]`;
}

/** The program must be a name exec can look up: each path component ≤ NAME_MAX, the whole < PATH_MAX. */
function checkProgram(spec: Pick<TaskSpec, 'command'>, program: string, limits: ExecLimits): void {
  const field = argvField(spec, 0);
  for (const part of program.split('/')) {
    if (Buffer.byteLength(part) > limits.nameMax) {
      throw tooLarge(`${field}: program name longer than ${limits.nameMax} bytes (NAME_MAX)`);
    }
  }
  if (Buffer.byteLength(program) + 1 > limits.pathMax) {
    throw tooLarge(`${field}: program path longer than ${limits.pathMax - 1} bytes (PATH_MAX)`);
  }
}

/**
 * Refuses a task that can never run on this host's kernel: a program name exec cannot look up,
 * an argument or env entry over MAX_ARG_STRLEN, argv + environment over ARG_MAX (the script's
 * file path and the base environment included), NUL bytes, a `cwd` outside the command root.
 * Returns the argv it checked. The channel's allowlist is the caller's (it answers 403).
 */
export function checkRunnable(
  spec: Pick<TaskSpec, 'name' | 'command' | 'env' | 'cwd' | 'script'>,
  channel: Pick<ChannelConfig, 'shell'>,
  commandRoot: string,
  limits: ExecLimits = execLimits(),
): string[] {
  const argv = taskArgv(spec, channel);
  const program = argv[0]!;
  if (program === '') throw new CoyotesError('COY_ERR_TASK_INVALID', `${argvField(spec, 0)}: empty program name`);
  let total = limits.baseEnvBytes + EXEC_RESERVE_BYTES;
  argv.forEach((arg, index) => {
    if (arg.includes('\0')) throw new CoyotesError('COY_ERR_TASK_INVALID', `${argvField(spec, index)} must not contain NUL bytes`);
    const bytes = Buffer.byteLength(arg) + 1;
    if (bytes > limits.argStrMax) {
      throw tooLarge(
        `${argvField(spec, index)}: one argument of ${bytes - 1} bytes is over the limit of ${limits.argStrMax - 1} (MAX_ARG_STRLEN)`,
      );
    }
    total += bytes + POINTER_BYTES;
  });
  checkProgram(spec, program, limits);
  if (spec.script) total += execBytes(commandRoot) + SCRIPT_PATH_BYTES;
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    if (typeof value !== 'string') throw new CoyotesError('COY_ERR_TASK_INVALID', `env.${name} must be a string`);
    if (value.includes('\0')) throw new CoyotesError('COY_ERR_TASK_INVALID', `env.${name} must not contain NUL bytes`);
    const bytes = execBytes(`${name}=${value}`);
    if (bytes - POINTER_BYTES > limits.argStrMax) {
      throw tooLarge(`env.${name}: ${bytes - POINTER_BYTES - 1} bytes is over the limit of ${limits.argStrMax - 1} (MAX_ARG_STRLEN)`);
    }
    total += bytes;
  }
  if (total > limits.argMax) {
    const field = spec.command ? 'command and args' : 'task';
    throw tooLarge(
      `${field}${spec.env ? ' and env' : ''}: ${total} bytes with the environment, over this host's exec limit of ${limits.argMax} (ARG_MAX)`,
    );
  }
  taskCwd(spec.cwd, commandRoot);
  return argv;
}

/** The largest argument total a task may have with no env of its own (for documentation and tests). */
export function argvRoom(limits: ExecLimits = execLimits()): number {
  return limits.argMax - limits.baseEnvBytes - EXEC_RESERVE_BYTES;
}
