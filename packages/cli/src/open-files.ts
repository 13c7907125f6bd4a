import { readFileSync } from 'node:fs';
import { CoyotesError } from '@coyotes/protocol';

/**
 * The fewest open files the server starts with. Measured: under `ulimit -n 64` the api process
 * dies loading its modules (Node's loader reads them in parallel) and master restarts it forever,
 * under 96 an idle server starts; every connection, IPC channel and running command's pipes need
 * more, so 256 leaves room to start and do a little work.
 */
export const MIN_OPEN_FILES = 256;

/** This process's soft RLIMIT_NOFILE (`ulimit -n`), from /proc/self/limits; undefined where unknown or unlimited. */
export function openFilesLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let limits: string;
  try {
    limits = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

const tooFew = (limit: number | undefined): CoyotesError =>
  new CoyotesError(
    'COY_ERR_PROCESS_OPEN_FILES',
    `too many open files (ulimit -n ${limit ?? 'unknown'}): the server needs at least ${MIN_OPEN_FILES}`,
    { hint: 'raise it: ulimit -n 65536 in the shell, LimitNOFILE= under systemd, minfds= in supervisord.conf' },
  );

/**
 * Refuses to start the server under a limit it cannot live with, naming it: otherwise Node's module
 * loader reports the first file it could not open as missing (`Cannot find package …`) or dies
 * with a stack, and master restarts its api process in a loop.
 */
export function checkOpenFilesLimit(limitsFile?: string): void {
  const limit = openFilesLimit(limitsFile);
  if (limit !== undefined && limit < MIN_OPEN_FILES) throw tooFew(limit);
}

/** The same refusal for an EMFILE met while loading the server (a limit /proc could not show). */
export function openFilesFailure(error: unknown): CoyotesError | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EMFILE' ? tooFew(openFilesLimit()) : undefined;
}
