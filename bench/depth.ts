/**
 * 6. Throughput with a deep queue against a shallow one: the rate at which one channel (8
 * workers) completes /bin/true tasks while 1,000 are queued, and while `deep` are queued
 * (1,000,000 unless filling them would not fit the time budget). Each figure is the rate over a
 * window of 800 completions, away from the start-up of the consumer.
 */
import type { Redis } from 'ioredis';
import type { Row } from './report.js';
import { wallMs } from './stats.js';
import type { BenchContext } from './systems.js';
import { channelStat, ingressEntry, pushIngress, startBenchCoyotes, stopCoyotes, waitForStat } from './systems.js';

const SHALLOW = 1000;
const WINDOW = 800;
const WARM_UP = 100;
const COMMAND = '/bin/true';
/** How long filling the deep queue may take before it is scaled down. */
const FILL_BUDGET_S = 90;

/** Completions per second between `from` and `from + WINDOW` completions of the default channel. */
async function windowRate(redis: Redis, from: number): Promise<number> {
  await waitForStat(redis, ['default'], 'succeeded', from);
  const t0 = wallMs();
  await waitForStat(redis, ['default'], 'succeeded', from + WINDOW);
  return WINDOW / ((wallMs() - t0) / 1000);
}

/** Fills the default channel through the dispatcher of a non-consuming master; answers how many. */
async function fill(ctx: BenchContext, wanted: number): Promise<number> {
  const redis = ctx.redis.client;
  const filler = await startBenchCoyotes(ctx.redis.addr, ['-task-mode=false']);
  try {
    const chunk = 50_000;
    let target = wanted;
    let filled = 0;
    const t0 = wallMs();
    while (filled < target) {
      const n = Math.min(chunk, target - filled);
      await pushIngress(
        redis,
        Array.from({ length: n }, () => ingressEntry(COMMAND, 'default')),
        10_000,
      );
      filled += n;
      await waitForStat(redis, ['default'], 'accepted', filled);
      const rate = filled / ((wallMs() - t0) / 1000);
      if (filled === chunk && wanted / rate > FILL_BUDGET_S) {
        target = Math.max(2 * chunk, Math.floor((rate * FILL_BUDGET_S) / 100_000) * 100_000);
        ctx.notes.push(
          `Depth: filling ${wanted.toLocaleString('en-US')} tasks at the measured ${Math.round(rate).toLocaleString('en-US')}/s would ` +
            `take ${Math.round(wanted / rate)} s, over the ${FILL_BUDGET_S} s budget; the deep queue holds ${target.toLocaleString('en-US')} instead.`,
        );
      }
    }
    ctx.log(`  filled ${filled} in ${((wallMs() - t0) / 1000).toFixed(0)} s`);
    return filled;
  } finally {
    await stopCoyotes(filler);
  }
}

export async function benchDepth(ctx: BenchContext, deep: number): Promise<Row[]> {
  const redis = ctx.redis.client;
  const shallowRates: number[] = [];
  const deepRates: number[] = [];
  // shallow: a burst of 1,000 onto an idle consumer, measured while it drains them
  let consumer = await startBenchCoyotes(ctx.redis.addr);
  try {
    for (let round = 0; round < Math.max(ctx.rounds, 5); round += 1) {
      const base = await channelStat(redis, 'default', 'succeeded');
      await pushIngress(
        redis,
        Array.from({ length: SHALLOW }, () => ingressEntry(COMMAND, 'default')),
      );
      shallowRates.push(await windowRate(redis, base + WARM_UP));
      await waitForStat(redis, ['default'], 'succeeded', base + SHALLOW);
    }
  } finally {
    await stopCoyotes(consumer);
  }
  await redis.flushall();
  const filled = await fill(ctx, deep);
  consumer = await startBenchCoyotes(ctx.redis.addr);
  try {
    for (let round = 0; round < Math.max(ctx.rounds, 5); round += 1) deepRates.push(await windowRate(redis, WARM_UP + round * WINDOW));
  } finally {
    await stopCoyotes(consumer);
  }
  ctx.log(`  shallow ${shallowRates.map((r) => r.toFixed(0)).join(', ')}/s; deep ${deepRates.map((r) => r.toFixed(0)).join(', ')}/s`);
  return [
    {
      id: 'depth-deep-vs-shallow',
      measure: `throughput with ${filled.toLocaleString('en-US')} queued (1 channel × 8 workers, ${COMMAND})`,
      unit: 'tasks/s',
      rounds: deepRates,
      baseline: { name: `${SHALLOW.toLocaleString('en-US')} queued`, rounds: shallowRates },
      target: { on: 'ratio', op: '>=', value: 0.9 },
      ...(filled < deep ? { note: `scaled down from ${deep.toLocaleString('en-US')}: see the notes` } : {}),
    },
  ];
}
