import { execFileSync } from 'node:child_process';
import type { RunningCoyotes } from './coyotes.js';

/** Every descendant of `root` (children, their commands, the commands' children), by pid. */
export function descendants(root: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const [pid, ppid] of table) {
      if (ppid === parent) {
        found.push(pid);
        walk(pid);
      }
    }
  };
  walk(root);
  return found;
}

/**
 * SIGKILLs a master, its children and every command they run, with the commands' process
 * groups: a host dying. `commandPids` adds command groups already reparented away from it.
 */
export function killHost(coyotes: RunningCoyotes, commandPids: number[] = []): void {
  const tree = [coyotes.pid, ...descendants(coyotes.pid)];
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const pid of [...tree, ...commandPids]) {
    try {
      // commands lead their own process groups: take the whole group
      process.kill(-pid, 'SIGKILL');
    } catch {
      // not a group leader, or gone
    }
  }
}
