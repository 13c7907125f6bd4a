import { readdirSync } from 'node:fs';
import { readProcStat } from './proc-stat.js';
import type { ProcStat } from './proc-stat.js';

const PROC = '/proc';
const HAS_PROC = process.platform === 'linux';

/**
 * The live processes of each given process group (a command's tree: commands lead their own
 * group), each with its /proc/<pid>/stat figures. One pass over /proc for all groups, one short
 * read per process (at most one fd open at a time). Linux only.
 */
export function processGroupStats(leaders: Iterable<number>): Map<number, ProcStat[]> {
  const members = new Map<number, ProcStat[]>();
  for (const leader of leaders) members.set(leader, []);
  if (members.size === 0) return members;
  let entries: string[];
  try {
    entries = readdirSync(PROC);
  } catch {
    // master out of fds (EMFILE) or /proc unreadable: each group is just its leader this time
    for (const [leader, stats] of members) {
      const stat = readProcStat(leader);
      if (stat && stat.state !== 'Z') stats.push(stat);
    }
    return members;
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a pid directory
    // null: ended between readdir and read
    const stat = readProcStat(entry);
    // a zombie uses no CPU or memory and only waits to be reaped
    if (stat !== null && stat.state !== 'Z') members.get(stat.pgrp)?.push(stat);
  }
  return members;
}

/**
 * The live pids of each given process group. One pass over /proc for all groups; off Linux,
 * each group is just its leader.
 */
export function processGroupMembers(leaders: Iterable<number>): Map<number, number[]> {
  if (!HAS_PROC) return new Map([...leaders].map((leader) => [leader, [leader]]));
  return new Map([...processGroupStats(leaders)].map(([leader, stats]) => [leader, stats.map((stat) => stat.pid)]));
}
