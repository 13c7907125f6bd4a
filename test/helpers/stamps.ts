import { existsSync, readFileSync } from 'node:fs';

/** The non-empty lines of a file commands append to; none while it does not exist. */
export const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

/** A shell line that stamps its start and end (ns) into `log` around `body`, for `mostAtOnce`. */
export const stamped = (log: string, body: string): string => `echo "s $(date +%s%N)" >> ${log}; ${body}; echo "e $(date +%s%N)" >> ${log}`;

/** The most commands running at one instant, from the `s`/`e` stamps `stamped` commands wrote. */
export function mostAtOnce(stamps: string[]): number {
  const events = stamps
    .map((line) => line.split(' '))
    .map(([kind, ns]) => ({ start: kind === 's', at: BigInt(ns!) }))
    .sort((a, b) => (a.at === b.at ? Number(a.start) - Number(b.start) : a.at < b.at ? -1 : 1));
  let now = 0;
  let most = 0;
  for (const event of events) {
    now += event.start ? 1 : -1;
    most = Math.max(most, now);
  }
  return most;
}
