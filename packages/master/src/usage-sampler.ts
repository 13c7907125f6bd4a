import pidusage from 'pidusage';
import { CLOCK_TICKS, PAGE_BYTES, processGroupMembers, processGroupStats, readProcStat } from '@coyotes/runner';
import type { ProcStat } from '@coyotes/runner';

/** CPU (% of one core since the previous sample; 0 on a pid's first) and resident memory in bytes. */
export interface Usage {
  cpu: number;
  rss: number;
}

/** A command's whole process group, summed. */
export interface GroupUsage extends Usage {
  /** Live processes in the group, leader included. */
  processes: number;
}

/** The pids to sample: Coyotes' own processes, and the leaders of running commands' groups. */
export interface SampleTargets {
  processes: number[];
  commandGroups: number[];
}

/** One sample of every tracked pid, taken at one instant. */
export interface UsageSnapshot {
  takenAt: number;
  /** Wall time the sample took (the /proc pass; off Linux, the pidusage call). */
  costMs: number;
  /** How many pids the sample covered. */
  pids: number;
  processes: ReadonlyMap<number, Usage>;
  commandGroups: ReadonlyMap<number, GroupUsage>;
}

const EMPTY: UsageSnapshot = { takenAt: 0, costMs: 0, pids: 0, processes: new Map(), commandGroups: new Map() };

/**
 * Where figures come from. `proc`: master reads /proc/<pid>/stat itself, one short read per
 * process (Linux). `pidusage`: the fallback off Linux (ps); on Linux pidusage would keep a file
 * descriptor open per pid it has seen, so a host running 1,000 commands would hold 1,000 in master.
 */
export type UsageSource = 'proc' | 'pidusage';

/** A process's CPU time at one sample, to take the next one's delta from. */
interface CpuMark {
  cpuTicks: number;
  startTicks: number;
  atMs: number;
}

/** Figures of one sample, before the groups are summed. */
interface Measured {
  own: Map<number, Usage>;
  groups: Map<number, Usage[]>;
  pids: number;
}

/**
 * Samples CPU and memory of many pids on an interval, so that a `GET /channels` costs a map
 * lookup and not a read of /proc. On Linux every figure comes from the same pass over /proc that
 * finds the members of each command's process group (its read of /proc/<pid>/stat holds the
 * process group, the CPU times and the resident size): one synchronous open-read-close per
 * process, so sampling holds at most one file descriptor however many commands run. CPU is the
 * delta of utime + stime since the previous sample over the wall time between them.
 */
export class UsageSampler {
  private snapshot: UsageSnapshot = EMPTY;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  /** CPU times of the pids seen by the previous sample; pids that ended are dropped with it. */
  private marks = new Map<number, CpuMark>();

  constructor(
    private readonly targets: () => SampleTargets,
    private readonly intervalMs: number,
    private readonly source: UsageSource = process.platform === 'linux' ? 'proc' : 'pidusage',
  ) {}

  /** The latest sample (empty before the first). */
  get latest(): UsageSnapshot {
    return this.snapshot;
  }

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Takes one sample now (skipped while the previous one is still running). Never rejects: a
   * sample that fails keeps the previous one, and master runs on.
   */
  async sample(): Promise<UsageSnapshot> {
    if (this.sampling) return this.snapshot;
    this.sampling = true;
    try {
      const began = performance.now();
      const { processes, commandGroups } = this.targets();
      const measured =
        this.source === 'proc'
          ? this.fromProc(processes, commandGroups)
          : await fromPidusage(processes, commandGroups, this.intervalMs * 3);
      const summed = new Map<number, GroupUsage>();
      for (const [leader, members] of measured.groups) {
        if (members.length === 0) continue;
        const total: GroupUsage = { cpu: 0, rss: 0, processes: members.length };
        for (const usage of members) {
          total.cpu += usage.cpu;
          total.rss += usage.rss;
        }
        total.cpu = round(total.cpu);
        summed.set(leader, total);
      }
      this.snapshot = {
        takenAt: Date.now(),
        costMs: performance.now() - began,
        pids: measured.pids,
        processes: measured.own,
        commandGroups: summed,
      };
      return this.snapshot;
    } catch {
      return this.snapshot;
    } finally {
      this.sampling = false;
    }
  }

  /** Every figure from /proc/<pid>/stat, read once per process. */
  private fromProc(processes: number[], leaders: number[]): Measured {
    const marks = new Map<number, CpuMark>();
    const usageOf = (stat: ProcStat, atMs: number): Usage => {
      const mark = { cpuTicks: stat.cpuTicks, startTicks: stat.startTicks, atMs };
      marks.set(stat.pid, mark);
      const before = this.marks.get(stat.pid);
      // 0 on a pid's first sample, and on a reused pid (another start time)
      const seconds = before && before.startTicks === stat.startTicks ? (atMs - before.atMs) / 1000 : 0;
      const cpu = seconds > 0 ? ((stat.cpuTicks - before!.cpuTicks) / CLOCK_TICKS / seconds) * 100 : 0;
      return { cpu: round(Math.max(0, cpu)), rss: stat.rssPages * PAGE_BYTES };
    };
    const own = new Map<number, Usage>();
    for (const pid of processes) {
      const stat = readProcStat(pid);
      if (stat !== null && stat.state !== 'Z') own.set(pid, usageOf(stat, performance.now()));
    }
    const groups = new Map<number, Usage[]>();
    const scanned = processGroupStats(leaders);
    const atMs = performance.now();
    for (const [leader, stats] of scanned)
      groups.set(
        leader,
        stats.map((stat) => usageOf(stat, atMs)),
      );
    this.marks = marks;
    return { own, groups, pids: marks.size };
  }
}

/**
 * The fallback off Linux: one pidusage call for master's processes and each group's leader (off
 * Linux a group is its leader); pids that ended are left out of the answer.
 */
async function fromPidusage(processes: number[], leaders: number[], maxAgeMs: number): Promise<Measured> {
  const groups = processGroupMembers(leaders);
  const pids = [...new Set([...processes, ...[...groups.values()].flat()])];
  const usage = new Map<number, Usage>();
  if (pids.length > 0) {
    try {
      // with several pids pidusage skips the ones that ended; with one it rejects instead
      const stats: Record<number, pidusage.Status | undefined> = await pidusage(pids, { maxage: maxAgeMs });
      for (const pid of pids) {
        const status = stats[pid];
        if (status) usage.set(pid, { cpu: round(status.cpu), rss: status.memory });
      }
    } catch {
      // out of fds, or ps failed: no figures this time
    }
  }
  const own = new Map<number, Usage>();
  for (const pid of processes) {
    const figures = usage.get(pid);
    if (figures) own.set(pid, figures);
  }
  const measuredGroups = new Map<number, Usage[]>();
  for (const [leader, members] of groups)
    measuredGroups.set(
      leader,
      members.flatMap((pid) => usage.get(pid) ?? []),
    );
  return { own, groups: measuredGroups, pids: pids.length };
}

const round = (cpu: number): number => Math.round(cpu * 10) / 10;
