import { readFileSync, readdirSync } from 'node:fs';

/** Environment a channel process is forked with, so that a later master can recognise it. */
export const PIDFILE_ENV = 'COYOTES_PIDFILE';
export const CHANNEL_ENV = 'COYOTES_CHANNEL';

const POLL_MS = 200;

/** A process left by a master that died (a channel process draining its commands, or an api process). */
export interface Predecessor {
  pid: number;
}

function environOf(pid: string): Map<string, string> | null {
  try {
    const pairs = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return new Map(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  } catch {
    return null; // gone, or another user's
  }
}

/** argv of a process (its channel-process entry script, for one). */
function commandLineOf(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** Alive and not a zombie (an orphan's zombie lingers where pid 1 does not reap). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** Parent pid and process group of a live process, from /proc/<pid>/stat; null when gone or a zombie. */
function parentAndGroupOf(pid: string): { ppid: number; pgrp: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // after the parenthesised command name: state, ppid, pgrp, ...
    const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === 'Z' ? null : { ppid: Number(ppid), pgrp: Number(pgrp) };
  } catch {
    return null;
  }
}

/**
 * The commands a channel process runs, as anyone on the host can see them: its children that
 * lead their own process group (every command is spawned so).
 */
export function commandsOf(pid: number): number[] {
  const commands: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = parentAndGroupOf(entry);
    if (stat?.ppid === pid && stat.pgrp === Number(entry)) commands.push(Number(entry));
  }
  return commands;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function exitOf(pid: number, timeoutMs = Infinity): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      const alive = isAlive(pid);
      if (alive && Date.now() < deadline) return;
      clearInterval(poll);
      resolve(!alive);
    }, POLL_MS);
  });
}

/** What retiring a predecessor reports on the way, for master's log. */
export interface RetireEvents {
  /** It runs commands: it is left to finish them (said once). */
  waiting(commands: number): void;
  /** It runs nothing: it is terminated now. */
  terminating(): void;
}

/**
 * Resolves once a predecessor is gone, never later than its running commands plus `graceMs`: the
 * commands it runs are waited for, however long they take, but a predecessor that runs none has
 * nothing left to finish and is terminated (SIGTERM, then SIGKILL after `graceMs`). Its results
 * not yet recorded are left to their leases. Without this, one that waits for a Redis that never
 * answers it (an older release did) would keep its channel from starting on this host for ever.
 */
export async function retire(predecessor: Predecessor, graceMs: number, events: RetireEvents): Promise<void> {
  const { pid } = predecessor;
  let told = false;
  while (isAlive(pid)) {
    const commands = commandsOf(pid).length;
    if (commands === 0) {
      events.terminating();
      signal(pid, 'SIGTERM');
      if (!(await exitOf(pid, graceMs))) {
        signal(pid, 'SIGKILL');
        await exitOf(pid);
      }
      return;
    }
    if (!told) events.waiting(commands);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Live processes forked by an earlier master with this pidfile and running `entry`, with their environment. */
function processesOf(pidfile: string, entry: string): { pid: number; env: Map<string, string> }[] {
  if (process.platform !== 'linux') return [];
  const found: { pid: number; env: Map<string, string> }[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const env = environOf(pid);
    if (env?.get(PIDFILE_ENV) !== pidfile || !commandLineOf(pid).includes(entry) || !isAlive(Number(pid))) continue;
    found.push({ pid: Number(pid), env });
  }
  return found;
}

/**
 * Channel processes of an earlier master with the same pidfile (found by the environment they
 * were forked with), by channel. When a master is SIGKILLed its channel processes finish their
 * running commands before they exit; a new master that forked at once would run a channel's
 * slots twice over on this host meanwhile. Linux only (/proc); elsewhere there are none to see.
 */
export function findPredecessors(pidfile: string, entry: string): Map<string, Predecessor> {
  const found = new Map<string, Predecessor>();
  for (const { pid, env } of processesOf(pidfile, entry)) {
    const channel = env.get(CHANNEL_ENV);
    if (channel !== undefined) found.set(channel, { pid });
  }
  return found;
}

/** Api processes of an earlier master with the same pidfile: one still serving would hold the HTTP port. */
export function findApiPredecessors(pidfile: string, entry: string): Predecessor[] {
  return processesOf(pidfile, entry).map(({ pid }) => ({ pid }));
}
