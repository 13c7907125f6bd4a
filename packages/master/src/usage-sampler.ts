import pidusage from 'pidusage';
import { processGroupMembers } from './process-groups.js';

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
  /** Wall time the sample took (the /proc scan and the pidusage call). */
  costMs: number;
  /** How many pids the pidusage call covered. */
  pids: number;
  processes: ReadonlyMap<number, Usage>;
  commandGroups: ReadonlyMap<number, GroupUsage>;
}

const EMPTY: UsageSnapshot = { takenAt: 0, costMs: 0, pids: 0, processes: new Map(), commandGroups: new Map() };

/**
 * Samples CPU and memory of many pids on an interval, so that a `GET /channels` costs a map
 * lookup and not a pidusage call. All pids go into ONE pidusage call (its cost is mostly per
 * call). A pid that ended is simply not asked for again; pidusage keeps an open fd per pid it has
 * seen until `maxAgeMs` passes without it being asked for (its `clear()` leaks those fds, so it
 * is never called), hence a max age of a few intervals instead of pidusage's 60 s.
 */
export class UsageSampler {
  private snapshot: UsageSnapshot = EMPTY;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly targets: () => SampleTargets,
    private readonly intervalMs: number,
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
   * sample that fails (EMFILE with many commands running) keeps the previous one, and master runs on.
   */
  async sample(): Promise<UsageSnapshot> {
    if (this.sampling) return this.snapshot;
    this.sampling = true;
    try {
      const began = performance.now();
      const { processes, commandGroups } = this.targets();
      const groups = processGroupMembers(commandGroups);
      const pids = [...new Set([...processes, ...[...groups.values()].flat()])];
      const measured = await measure(pids, this.intervalMs * 3);
      const own = new Map<number, Usage>();
      for (const pid of processes) {
        const usage = measured.get(pid);
        if (usage) own.set(pid, usage);
      }
      const summed = new Map<number, GroupUsage>();
      for (const [leader, members] of groups) {
        const total: GroupUsage = { cpu: 0, rss: 0, processes: 0 };
        for (const pid of members) {
          const usage = measured.get(pid);
          if (!usage) continue;
          total.cpu += usage.cpu;
          total.rss += usage.rss;
          total.processes += 1;
        }
        if (total.processes > 0) summed.set(leader, total);
      }
      this.snapshot = { takenAt: Date.now(), costMs: performance.now() - began, pids: pids.length, processes: own, commandGroups: summed };
      return this.snapshot;
    } catch {
      return this.snapshot;
    } finally {
      this.sampling = false;
    }
  }
}

/** One pidusage call for all pids; pids that ended are left out of the answer. */
async function measure(pids: number[], maxAgeMs: number): Promise<Map<number, Usage>> {
  const usage = new Map<number, Usage>();
  if (pids.length === 0) return usage;
  let stats: Record<number, pidusage.Status | undefined>;
  try {
    // with several pids pidusage skips the ones that ended; with one it rejects instead
    stats = await pidusage(pids, { maxage: maxAgeMs });
  } catch {
    return usage;
  }
  for (const pid of pids) {
    const status = stats[pid];
    if (status) usage.set(pid, { cpu: round(status.cpu), rss: status.memory });
  }
  return usage;
}

const round = (cpu: number): number => Math.round(cpu * 10) / 10;
