import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';

/** What master and the runner need of /proc/<pid>/stat (proc(5)); times in clock ticks, memory in pages. */
export interface ProcStat {
  pid: number;
  /** Field 3: R, S, D, Z… */
  state: string;
  /** Field 4: the parent's pid. */
  ppid: number;
  /** Field 5: the process group. */
  pgrp: number;
  /** Fields 14 + 15, utime + stime: CPU time used so far. */
  cpuTicks: number;
  /** Field 22: when it started, since boot (tells a reused pid from the process seen before). */
  startTicks: number;
  /** Field 24: resident set size. */
  rssPages: number;
}

/**
 * Reads /proc/<pid>/stat: open, read, close at once (synchronous), so a sample of any number of
 * pids holds at most one file descriptor at a time. null when the pid ended (or /proc is unreadable).
 */
export function readProcStat(pid: number | string): ProcStat | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // the command name before the fields may hold spaces and ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 of proc(5)
  return {
    pid: Number(pid),
    state: fields[0]!,
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    cpuTicks: Number(fields[11]) + Number(fields[12]),
    startTicks: Number(fields[19]),
    rssPages: Number(fields[21]),
  };
}

/** AT_PAGESZ and AT_CLKTCK of getauxval(3): what `getconf PAGESIZE` and `getconf CLK_TCK` answer. */
const AT_PAGESZ = 6;
const AT_CLKTCK = 17;

/** The kernel's auxiliary vector of this process: page size and clock ticks per second, without a shell. */
function auxv(): Map<number, number> {
  const values = new Map<number, number>();
  let bytes: Buffer;
  try {
    bytes = readFileSync('/proc/self/auxv');
  } catch {
    return values;
  }
  const word = ['arm', 'ia32', 'mips', 'mipsel', 'ppc'].includes(process.arch) ? 4 : 8;
  const little = endianness() === 'LE';
  const read = (offset: number): number =>
    word === 4
      ? little
        ? bytes.readUInt32LE(offset)
        : bytes.readUInt32BE(offset)
      : Number(little ? bytes.readBigUInt64LE(offset) : bytes.readBigUInt64BE(offset));
  for (let offset = 0; offset + 2 * word <= bytes.length; offset += 2 * word) values.set(read(offset), read(offset + word));
  return values;
}

const vector = process.platform === 'linux' ? auxv() : new Map<number, number>();
/** Bytes per page (4096 on x86; 16 KiB or 64 KiB on some arm64 kernels). */
export const PAGE_BYTES = vector.get(AT_PAGESZ) || 4096;
/** Clock ticks per second of /proc's times (100 on every Linux ABI in use). */
export const CLOCK_TICKS = vector.get(AT_CLKTCK) || 100;
