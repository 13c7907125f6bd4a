import { readFileSync, readdirSync } from 'node:fs';

/** Environment a channel process is forked with, so that a later master can recognise it. */
export const PIDFILE_ENV = 'COYOTES_PIDFILE';
export const CHANNEL_ENV = 'COYOTES_CHANNEL';

const POLL_MS = 200;

/** A channel process left by a master that died, still draining its commands. */
export interface Predecessor {
  pid: number;
  /** Resolves once it has exited. */
  exited: Promise<void>;
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

function exitOf(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (isAlive(pid)) return;
      clearInterval(poll);
      resolve();
    }, POLL_MS);
  });
}

/**
 * Channel processes of an earlier master with the same pidfile (found by the environment they
 * were forked with), by channel. When a master is SIGKILLed its channel processes finish their
 * running commands before they exit; a new master that forked at once would run a channel's
 * slots twice over on this host meanwhile. Linux only (/proc); elsewhere there are none to see.
 */
export function findPredecessors(pidfile: string, entry: string): Map<string, Predecessor> {
  const found = new Map<string, Predecessor>();
  if (process.platform !== 'linux') return found;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const env = environOf(pid);
    const channel = env?.get(CHANNEL_ENV);
    if (channel === undefined || env?.get(PIDFILE_ENV) !== pidfile || !commandLineOf(pid).includes(entry)) continue;
    found.set(channel, { pid: Number(pid), exited: exitOf(Number(pid)) });
  }
  return found;
}
