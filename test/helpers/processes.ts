import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readProcStat } from '../../packages/runner/src/proc-stat.js';
import type { ProcStat } from '../../packages/runner/src/proc-stat.js';
import { waitFor } from './wait.js';

/** The fixture that forks grandchildren and writes every pid of its tree to a file. */
export const FORKS_GRANDCHILDREN = path.resolve(import.meta.dirname, '../fixtures/forks-grandchildren.sh');

/**
 * `subreaper-exec PROGRAM ARGS…` (test/fixtures/subreaper-exec.c, compiled here by the system C
 * compiler, as the native spawner is): runs PROGRAM as a subreaper that never reaps, so the
 * orphaned grandchildren of its commands stay zombies, as under Node as a container's PID 1.
 */
export function subreaperExec(): string {
  const binary = path.join(mkdtempSync(path.join(tmpdir(), 'coyotes-subreaper-')), 'subreaper-exec');
  execFileSync('cc', ['-O2', '-o', binary, path.resolve(import.meta.dirname, '../fixtures/subreaper-exec.c')]);
  return binary;
}

/** Every process of the host, from /proc (those that ended while it was read left out). */
export function allProcStats(): ProcStat[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => readProcStat(entry))
    .filter((stat): stat is ProcStat => stat !== null);
}

/** Zombies whose parent is `pid`: ended processes it has not reaped. */
export function zombieChildren(pid: number): number[] {
  return allProcStats()
    .filter((stat) => stat.ppid === pid && stat.state === 'Z')
    .map((stat) => stat.pid);
}

/** Whether a process exists and is not a zombie waiting for its parent. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readProcStat(pid);
  return stat !== null && stat.state !== 'Z';
}

/** A process's argv from /proc/<pid>/cmdline; null once it ended. */
export function commandLine(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** Direct children of a pid, with their command lines. */
export function childrenOf(pid: number): { pid: number; cmd: string }[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return []; // ps exits 1 when there is none
  }
  return out === ''
    ? []
    : out.split('\n').map((line) => {
        const [p, ...cmd] = line.trim().split(/\s+/);
        return { pid: Number(p), cmd: cmd.join(' ') };
      });
}

/** Waits for the fixture to write its pid list, and returns it (leader first). */
export async function treePids(file: string, timeoutMs = 10_000): Promise<number[]> {
  return waitFor(
    `the pid list ${path.basename(file)}`,
    () => existsSync(file) && readFileSync(file, 'utf8').trim().split('\n').map(Number),
    timeoutMs,
  );
}

/** Waits until every pid has exited; fails naming the survivors. */
export async function allGone(pids: number[], timeoutMs = 10_000): Promise<void> {
  try {
    await waitFor(`pids ${pids.join(' ')} to exit`, () => pids.every((pid) => !isAlive(pid)), timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}; still alive: ${pids.filter(isAlive).join(' ')}`);
  }
}

/** SIGKILLs whatever is left of the given pids (test cleanup). */
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Reads /proc/<pid>/environ into a map; null when the process is gone or not ours. */
function environOf(pid: number): Map<string, string> | null {
  try {
    const pairs = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    return new Map(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  } catch {
    return null;
  }
}

/**
 * The live Node processes of one Coyotes installation on this host: every process running Node
 * whose environment names `pidfile` in COYOTES_PIDFILE (master gets it from the test, its api and
 * channel processes from master), with its parent pid. Commands never carry COYOTES_* variables.
 */
export function coyotesProcesses(pidfile: string): { pid: number; ppid: number; cmd: string; channel?: string }[] {
  const found: { pid: number; ppid: number; cmd: string; channel?: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || !isAlive(pid)) continue;
    const env = environOf(pid);
    if (env?.get('COYOTES_PIDFILE') !== pidfile) continue;
    const cmd = commandLine(pid);
    const stat = readProcStat(pid);
    if (!cmd || !stat) continue;
    if (cmd[0] !== process.execPath && path.basename(cmd[0] ?? '') !== 'node') continue;
    found.push({ pid, ppid: stat.ppid, cmd: cmd.join(' '), channel: env.get('COYOTES_CHANNEL') });
  }
  return found;
}
