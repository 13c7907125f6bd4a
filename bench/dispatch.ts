/**
 * 3. Prepare-queue dispatch rate: `entries` seed-shaped entries land in task:prepare:queue at
 * once (one MULTI) and master's dispatcher moves them into their channel (`-task-mode=false`, so
 * nothing consumes them). Baseline: the bare Redis floor, a Node loop moving the same entries
 * list to list 500 at a time with no parsing. With it, master's CPU per entry (utime + stime from
 * /proc: the parsing, the door's checks and the enqueue calls), target ≤ 20 µs.
 * 5. Redis bytes per queued task, from INFO used_memory before/after, against BullMQ's per
 * waiting job (addBulk of the same command).
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { waitFor } from '../test/helpers/wait.js';
import type { Row } from './report.js';
import { TICKS_PER_S, cpuTicks, wallMs } from './stats.js';
import type { BenchContext } from './systems.js';
import { INGRESS, channelStat, ingressEntry, startBenchCoyotes, stopCoyotes, usedMemory, waitForStat } from './systems.js';

const BATCH = 10_000;
const COMMAND = '/bin/true';

/** LPUSHes every entry inside one MULTI, so a consumer sees them all at the same instant. */
async function landAtOnce(redis: Redis, key: string, entries: string[]): Promise<void> {
  const multi = redis.multi();
  for (let i = 0; i < entries.length; i += BATCH) multi.lpush(key, ...entries.slice(i, i + BATCH));
  await multi.exec();
}

async function bareMoveRound(redis: Redis, entries: string[]): Promise<number> {
  await landAtOnce(redis, 'bench:bare:from', entries);
  const t0 = wallMs();
  for (;;) {
    const batch = await redis.rpop('bench:bare:from', 500);
    if (!batch || batch.length === 0) break;
    await redis.lpush('bench:bare:to', ...batch);
  }
  const rate = entries.length / ((wallMs() - t0) / 1000);
  await redis.del('bench:bare:to');
  return rate;
}

async function bullmqBytesRound(ctx: BenchContext, count: number, round: number): Promise<number> {
  const redis = ctx.redis.client;
  const queue = new Queue(`bench-bytes-${round}`, { connection: { host: '127.0.0.1', port: ctx.redis.port } });
  try {
    await queue.waitUntilReady();
    const before = await usedMemory(redis);
    for (let i = 0; i < count; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'run', data: { command: COMMAND } })));
    }
    const after = await usedMemory(redis);
    return (after - before) / count;
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

export async function benchDispatch(ctx: BenchContext, count: number): Promise<Row[]> {
  const redis = ctx.redis.client;
  const rates: number[] = [];
  const bare: number[] = [];
  const bytes: number[] = [];
  const bullmqBytes: number[] = [];
  const masterCpu: number[] = [];
  const coyotes = await startBenchCoyotes(ctx.redis.addr, ['-task-mode=false']);
  try {
    for (let round = 0; round < ctx.rounds; round += 1) {
      const entries = Array.from({ length: count }, () => ingressEntry(COMMAND, 'default'));
      const accepted = await channelStat(redis, 'default', 'accepted');
      const before = await usedMemory(redis);
      const ticks = cpuTicks(coyotes.pid);
      await landAtOnce(redis, INGRESS, entries);
      const t0 = wallMs();
      await waitForStat(redis, ['default'], 'accepted', accepted + count);
      rates.push(count / ((wallMs() - t0) / 1000));
      masterCpu.push(((cpuTicks(coyotes.pid) - ticks) / TICKS_PER_S / count) * 1e6);
      // the in-flight copy is dropped once the batch is enqueued: wait for it before weighing
      await waitFor('the ingress list and in-flight lists to empty', async () => {
        const inFlight = await redis.keys(`{${INGRESS}}:processing:*`);
        return (await redis.llen(INGRESS)) === 0 && inFlight.length === 0;
      });
      bytes.push((await usedMemory(redis)) - before);
      bytes[bytes.length - 1]! /= count;
      bare.push(await bareMoveRound(redis, entries));
      bullmqBytes.push(await bullmqBytesRound(ctx, count, round));
      ctx.log(
        `  round ${round + 1}: dispatch ${rates.at(-1)!.toFixed(0)}/s (bare move ${bare.at(-1)!.toFixed(0)}/s), ` +
          `master ${masterCpu.at(-1)!.toFixed(1)} µs CPU/entry; ` +
          `bytes/task ${bytes.at(-1)!.toFixed(0)} (BullMQ ${bullmqBytes.at(-1)!.toFixed(0)})`,
      );
    }
  } finally {
    await stopCoyotes(coyotes);
  }
  const n = count.toLocaleString('en-US');
  return [
    {
      id: 'dispatch-rate',
      measure: `prepare-queue dispatch, ${n} entries queued at once`,
      unit: 'tasks/s',
      rounds: rates,
      baseline: { name: 'bare Node loop RPOP 500 → LPUSH, no parsing (Redis floor)', rounds: bare },
      target: { on: 'value', op: '>=', value: 20_000 },
    },
    {
      id: 'dispatch-master-cpu',
      measure: `master CPU per ingress entry, ${n} entries queued at once (utime + stime: parsing, the door, enqueueTasks calls)`,
      unit: 'µs',
      rounds: masterCpu,
      target: { on: 'value', op: '<=', value: 20 },
    },
    {
      id: 'bytes-per-task',
      measure: `Redis bytes per queued task (${n} × ${COMMAND}, INFO used_memory)`,
      unit: 'B',
      rounds: bytes,
      baseline: { name: 'BullMQ per waiting job', rounds: bullmqBytes },
      target: { on: 'ratio', op: '<=', value: 1 },
    },
  ];
}
