import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { CoyotesError } from '@coyotes/protocol';
import { readProcStat } from '@coyotes/runner';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, owned by someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // a master SIGKILLed a moment ago may be a zombie its parent has not reaped yet: it holds nothing
  return readProcStat(pid)?.state !== 'Z';
}

/** Writes our pid; refuses while another live process holds the file, takes over a stale one. */
export function acquirePidfile(path: string): void {
  let holder: number | undefined;
  try {
    holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
  } catch {
    holder = undefined;
  }
  if (holder !== undefined && Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
    throw new CoyotesError('COY_ERR_PIDFILE_LOCKED', `another coyotes (pid ${holder}) holds the pidfile ${path}`, {
      hint: 'stop it first (kill -USR2 <pid>), or give this one its own -pidfile',
    });
  }
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch (error) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `cannot write pidfile ${path}: ${(error as Error).message}`);
  }
}

/** Removes the pidfile if it is still ours. */
export function releasePidfile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // already gone
  }
}
