import { cpus, freemem, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Median of a non-empty list (the figure every row reports: one slow round does not move it). */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0–100) of a non-empty list. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). */
export const TICKS_PER_S = 100;

/** utime + stime of a process, in clock ticks (its children's time not included); 0 once it is gone. */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Wall-clock now in milliseconds with sub-millisecond precision (comparable with `date +%s%N`). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Parses the nanosecond wall-clock time `date +%s%N` printed, in milliseconds. */
export function dateOutputMs(stdout: string): number {
  const ns = BigInt(stdout.trim());
  return Number(ns / 1000n) / 1000;
}

/** What the figures were measured on. */
export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  loadAverage: string;
  node: string;
  redis: string;
  kernel: string;
}

export function describeMachine(redisVersion: string): Machine {
  const list = cpus();
  let loadAverage = '';
  let kernel = '';
  try {
    loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // not Linux: leave them empty
  }
  return {
    cores: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    loadAverage,
    node: process.version,
    redis: redisVersion,
    kernel,
  };
}

/** Rounds a figure for display: 3 significant digits, no exponent. */
export function round3(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return Number(value.toFixed(digits));
}
