import { readFileSync } from 'node:fs';
import { descendants } from './hosts.js';
import { coyotesProcesses, isAlive } from './processes.js';

/** The pid a pidfile names, if that process lives. */
export function pidfileHolder(pidfile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidfile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every live Node process of one installation on this host: the master holding the pidfile
 * (or `masterPid`), and every api and channel process forked for that pidfile, whoever forked it.
 */
export function hostProcesses(pidfile: string, masterPid?: number): { pid: number; ppid: number; cmd: string; channel?: string }[] {
  const found = coyotesProcesses(pidfile);
  for (const pid of [masterPid, pidfileHolder(pidfile)]) {
    if (pid !== undefined && isAlive(pid) && !found.some((p) => p.pid === pid)) found.push({ pid, ppid: 0, cmd: 'master' });
  }
  return found;
}

/** SIGKILLs what is left of an installation: its processes and their commands' process groups (test cleanup). */
export function killInstallation(pidfile: string, masterPid?: number): void {
  const processes = hostProcesses(pidfile, masterPid).map((p) => p.pid);
  const tree = [...processes, ...processes.flatMap((pid) => descendants(pid))];
  for (const pid of tree) {
    for (const target of [pid, -pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone, or not a group leader
      }
    }
  }
}

/** The faults of the matrix (issue #24), each as an operator or the machine would cause it. */
export const FAULTS = [
  'redis-stopped',
  'redis-empty',
  'master-sigterm',
  'master-sigkill',
  'channel-sigkill',
  'api-sigkill',
  'master-sigstop',
  'port-taken',
] as const;
export type Fault = (typeof FAULTS)[number];

/** Every ordered pair of faults, a fault twice included. */
export function allPairs(): [Fault, Fault][] {
  return FAULTS.flatMap((first) => FAULTS.map((second): [Fault, Fault] => [first, second]));
}

/** `count` distinct pairs drawn from every pair by a seeded generator: the same seed, the same pairs. */
export function samplePairs(seed: number, count: number): [Fault, Fault][] {
  const pairs = allPairs();
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  for (let i = pairs.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
  }
  return pairs.slice(0, count);
}
