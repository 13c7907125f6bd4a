import { readFileSync, readdirSync } from 'node:fs';

const PROC = '/proc';
const HAS_PROC = process.platform === 'linux';

/** Field 5 of /proc/<pid>/stat (pgrp); the command name before it may hold spaces and ')'. */
function processGroupOf(pid: string): number | null {
  try {
    const stat = readFileSync(`${PROC}/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state: a zombie uses no CPU or memory and only waits to be reaped
    return fields[0] === 'Z' ? null : Number(fields[2]);
  } catch {
    return null; // ended between readdir and read
  }
}

/**
 * The live processes of each given process group (a command's tree: commands lead their own
 * group). One pass over /proc for all groups; pidusage sees single pids, so master sums these.
 * Off Linux, each group is just its leader.
 */
export function processGroupMembers(leaders: Iterable<number>): Map<number, number[]> {
  const members = new Map<number, number[]>();
  for (const leader of leaders) members.set(leader, []);
  if (members.size === 0) return members;
  if (!HAS_PROC) {
    for (const [leader, pids] of members) pids.push(leader);
    return members;
  }
  let entries: string[];
  try {
    entries = readdirSync(PROC);
  } catch {
    // master out of fds (EMFILE) or /proc unreadable: each group is just its leader this time
    for (const [leader, pids] of members) pids.push(leader);
    return members;
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a pid directory
    const group = processGroupOf(entry);
    if (group !== null) members.get(group)?.push(Number(entry));
  }
  return members;
}
