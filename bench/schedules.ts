/**
 * 9. Schedules at scale: 10,000 schedules firing every minute (declared in the `-config` file,
 * so they are written at start), on a master that consumes nothing (`-task-mode false`), so the
 * figures are the scheduler's own: master's CPU over each minute, and how late each run became
 * claimable after its tick: the channel's queue is polled from before the tick, and the n-th run
 * is as late as the first poll that saw n runs queued (runs are pre-enqueued as delayed tasks,
 * so their creation time says nothing; one queued before its tick would count negative).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Row } from './report.js';
import { TICKS_PER_S, cpuTicks, percentile } from './stats.js';
import type { BenchContext } from './systems.js';
import { startBenchCoyotes, stopCoyotes } from './systems.js';
import { waitFor } from '../test/helpers/wait.js';

const CHANNEL = 'bench-schedules';

/** Lateness (ms) of every run queued for the tick `tickMs`: polls the queue's length until `count` are in. */
async function lateness(ctx: BenchContext, tickMs: number, count: number): Promise<number[]> {
  const late: number[] = [];
  const queued = `coyotes:{${CHANNEL}}:queued`;
  while (late.length < count && Date.now() < tickMs + 30_000) {
    const length = await ctx.redis.client.llen(queued);
    const at = Date.now();
    while (late.length < length) late.push(at - tickMs);
    await sleep(1);
  }
  return late;
}

/** The runs accepted for the tick `tickMs`, and when the first and last were (ms after the tick), from the stored task specs. */
async function runsOf(ctx: BenchContext, tickMs: number): Promise<{ runs: number; first: number; last: number }> {
  let runs = 0;
  let first = Infinity;
  let last = -Infinity;
  const tick = new Date(tickMs).toISOString();
  let cursor = '0';
  do {
    const [next, entries] = await ctx.redis.client.hscan(`coyotes:{${CHANNEL}}:tasks`, cursor, 'COUNT', 2000);
    cursor = next;
    for (let i = 1; i < entries.length; i += 2) {
      const spec = JSON.parse(entries[i]!) as { createdAt: number; env?: Record<string, string> };
      if (spec.env?.COYOTES_SCHEDULE_TICK !== tick) continue;
      runs += 1;
      first = Math.min(first, spec.createdAt - tickMs);
      last = Math.max(last, spec.createdAt - tickMs);
    }
  } while (cursor !== '0');
  return { runs, first, last };
}

export async function benchSchedules(ctx: BenchContext, count: number): Promise<Row[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-bench-schedules-'));
  const config = path.join(dir, 'coyotes.json');
  const schedules = Array.from({ length: count }, (_, i) => ({ name: `s${i}`, cron: '* * * * *', channel: CHANNEL, task: `true ${i}` }));
  writeFileSync(config, JSON.stringify({ schedules }));
  const coyotes = await startBenchCoyotes(ctx.redis.addr, ['-task-mode', 'false', '-config', config]);
  // the HTTP API answers before the config file's schedules are all written: the first tick measured comes after
  await waitFor(
    'the schedules written',
    async () => (await ctx.redis.client.hlen(`coyotes:{${CHANNEL}}:schedule-ticks`)) === count,
    120_000,
    100,
  );
  const cpu: number[] = [];
  const p99: number[] = [];
  const fired: number[] = [];
  try {
    for (let round = 0; round < ctx.rounds; round += 1) {
      // one window = one whole minute around one burst of ticks
      const tick = Math.ceil((Date.now() + 10_000) / 60_000) * 60_000;
      await sleep(tick - 30_000 - Date.now() > 0 ? tick - 30_000 - Date.now() : 0);
      const before = cpuTicks(coyotes.pid);
      const start = Date.now();
      await sleep(tick - 1000 - Date.now());
      const late = await lateness(ctx, tick, count);
      await sleep(tick + 30_000 - Date.now());
      cpu.push(((cpuTicks(coyotes.pid) - before) / TICKS_PER_S / ((Date.now() - start) / 1000)) * 100);
      const accepted = await runsOf(ctx, tick);
      fired.push(accepted.runs);
      p99.push(late.length < count ? Infinity : percentile(late, 99));
      ctx.log(
        `  round ${round + 1}: ${fired.at(-1)} runs for the tick (accepted ${accepted.first} to ${accepted.last} ms after it; ${late.length} queued within 30 s), master CPU ${cpu.at(-1)!.toFixed(2)}% over the minute, lateness p50 ${late.length > 0 ? percentile(late, 50) : '-'} ms, p99 ${p99.at(-1)} ms, load average ${loadavg()[0]!.toFixed(1)}`,
      );
      await ctx.redis.client.del(`coyotes:{${CHANNEL}}:tasks`, `coyotes:{${CHANNEL}}:queued`);
    }
  } finally {
    await stopCoyotes(coyotes);
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    {
      id: 'schedules-cpu-master',
      measure: `master CPU with ${count.toLocaleString('en-US')} schedules every minute`,
      unit: '% of a core',
      rounds: cpu,
    },
    {
      id: 'schedules-lateness-p99',
      measure: `fire lateness p99, ${count.toLocaleString('en-US')} schedules on one tick (run queued after its tick)`,
      unit: 'ms',
      rounds: p99,
      target: { on: 'value', op: '<=', value: 100 },
    },
    {
      id: 'schedules-fired',
      measure: 'runs accepted per tick (one per schedule: none lost or doubled)',
      unit: 'runs',
      rounds: fired,
      target: { on: 'value', op: '>=', value: count },
    },
  ];
}
