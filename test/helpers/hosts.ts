import { execFileSync } from 'node:child_process';
import type { RunningCoyotes } from './coyotes.js';
import type { HostFigures } from '../../packages/protocol/src/index.js';
import { keys } from './keys.js';

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

/**
 * Which master runs each of a channel's tasks right now, from the figures every master publishes
 * (a lease handed over at a push carries no node in its token): task id → node id.
 */
export async function runningOn(
  redis: { get(key: string): Promise<string | null> },
  nodeIds: readonly string[],
  channel: string,
): Promise<Map<string, string>> {
  const running = new Map<string, string>();
  for (const nodeId of nodeIds) {
    const raw = await redis.get(keys.nodeFigures(nodeId));
    const figures = raw === null ? undefined : (JSON.parse(raw) as HostFigures);
    for (const { taskId } of figures?.channels[channel]?.running ?? []) running.set(taskId, nodeId);
  }
  return running;
}
