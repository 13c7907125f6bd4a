/**
 * 9. Schedules at scale: 10,000 schedules firing every minute (declared in the `-config` file,
 * so they are written at start), on a master that consumes nothing (`-task-mode false`), so the
 * figures are the scheduler's own: master's CPU over each minute, and how late each run was
 * accepted after its tick (the task's creation time against `COYOTES_SCHEDULE_TICK`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Row } from './report.js';
import { TICKS_PER_S, cpuTicks, percentile } from './stats.js';
import type { BenchContext } from './systems.js';
import { startBenchCoyotes, stopCoyotes } from './systems.js';

const CHANNEL = 'bench-schedules';

/** Lateness (ms) of every run accepted for the tick `tickMs`, read from the stored task specs. */
async function lateness(ctx: BenchContext, tickMs: number): Promise<number[]> {
  const late: number[] = [];
  const tick = new Date(tickMs).toISOString();
  let cursor = '0';
  do {
    const [next, entries] = await ctx.redis.client.hscan(`coyotes:{${CHANNEL}}:tasks`, cursor, 'COUNT', 2000);
    cursor = next;
    for (let i = 1; i < entries.length; i += 2) {
      const spec = JSON.parse(entries[i]!) as { createdAt: number; env?: Record<string, string> };
      if (spec.env?.COYOTES_SCHEDULE_TICK === tick) late.push(spec.createdAt - tickMs);
    }
  } while (cursor !== '0');
  return late;
}

export async function benchSchedules(ctx: BenchContext, count: number): Promise<Row[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-bench-schedules-'));
  const config = path.join(dir, 'coyotes.json');
  const schedules = Array.from({ length: count }, (_, i) => ({ name: `s${i}`, cron: '* * * * *', channel: CHANNEL, task: `true ${i}` }));
  writeFileSync(config, JSON.stringify({ schedules }));
  const coyotes = await startBenchCoyotes(ctx.redis.addr, ['-task-mode', 'false', '-config', config]);
  const cpu: number[] = [];
  const p99: number[] = [];
  const fired: number[] = [];
  try {
    for (let round = 0; round < ctx.rounds; round += 1) {
      // one window = one whole minute around one burst of ticks
      const tick = Math.ceil((Date.now() + 5000) / 60_000) * 60_000;
      await sleep(tick - 30_000 - Date.now() > 0 ? tick - 30_000 - Date.now() : 0);
      const before = cpuTicks(coyotes.pid);
      const start = Date.now();
      await sleep(tick + 30_000 - Date.now());
      cpu.push(((cpuTicks(coyotes.pid) - before) / TICKS_PER_S / ((Date.now() - start) / 1000)) * 100);
      const late = await lateness(ctx, tick);
      fired.push(late.length);
      p99.push(percentile(late, 99));
      ctx.log(
        `  round ${round + 1}: ${late.length} runs for the tick, master CPU ${cpu.at(-1)!.toFixed(2)}% over the minute, lateness p50 ${percentile(late, 50)} ms, p99 ${p99.at(-1)} ms`,
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
      measure: `fire lateness p99, ${count.toLocaleString('en-US')} schedules on one tick (run accepted after its tick)`,
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
