import { existsSync } from 'node:fs';

/** Why a command could not start, with the exit code a shell would report for it. */
export interface SpawnFailure {
  /** 126: found but cannot be run (permission, format, refused); 127: everything else (not found, too long, invalid). */
  exitCode: 126 | 127;
  reason: string;
}

/** Found but not runnable, as sh(1) reports with 126. */
const NOT_EXECUTABLE = new Set(['EACCES', 'EPERM', 'ENOEXEC', 'EISDIR']);

const EXPLAINED: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted (run-as user?)',
  ENOEXEC: 'not an executable format',
  EISDIR: 'is a directory',
  ENOTDIR: 'cwd or a path component is not a directory',
  ENAMETOOLONG: 'a path or name is longer than the system allows',
  E2BIG: 'the arguments and environment exceed the system limit (ARG_MAX / MAX_ARG_STRLEN)',
  EMFILE: 'too many open files in the channel process or its spawner (raise its open-files limit, see docs/operations.md)',
  ENFILE: 'too many open files on the host',
  EAGAIN: 'the host refused a new process (process limit)',
  ENOMEM: 'out of memory',
  ERR_INVALID_ARG_VALUE: 'invalid argument',
  ERR_INVALID_ARG_TYPE: 'invalid argument',
  ERR_OUT_OF_RANGE: 'invalid argument',
};

const clip = (text: string, max = 120): string => (text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text);

/**
 * What a failed spawn (thrown at once or reported as the child's 'error') means for the task.
 * The message names the program (clipped: it may be the 5,000-character name that failed).
 */
export function spawnFailure(error: unknown, program: string, cwd: string | undefined): SpawnFailure {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  // Node reports a vanished cwd as the program's ENOENT: say which one it was
  if (code === 'ENOENT' && cwd !== undefined && !existsSync(cwd)) {
    return { exitCode: 127, reason: `cannot start ${clip(program)}: cwd ${clip(cwd)} does not exist (ENOENT)` };
  }
  const message = code.startsWith('ERR_') ? (error as Error).message : (EXPLAINED[code] ?? (error as Error).message);
  return {
    exitCode: NOT_EXECUTABLE.has(code) ? 126 : 127,
    reason: `cannot start ${clip(program)}: ${clip(message, 300)}${code && !code.startsWith('ERR_') ? ` (${code})` : ''}`,
  };
}
