/**
 * 7. Delay lateness: `count` delayed tasks pushed at once through task:prepare:queue with
 * `execute_at`, due over a few seconds; each runs `date +%s%N`, and its lateness is the time it
 * started minus the time it was due. Against BullMQ delayed jobs due at the same times.
 */
import { Queue } from 'bullmq';
import { waitFor } from '../test/helpers/wait.js';
import { coyotesStartTimes } from './latency.js';
import type { Row } from './report.js';
import { dateOutputMs, percentile, wallMs } from './stats.js';
import type { BenchContext } from './systems.js';
import { forkReady, ingressEntry, pushIngress, startBenchCoyotes, stopChild, stopCoyotes } from './systems.js';

/**
 * The first task is due this long after the push; the rest spread over SPREAD_MS: 100 due per
 * second, well under what one channel runs even on a loaded machine, so lateness measures the
 * scheduler and not a backlog of commands.
 */
const LEAD_MS = 1500;
const SPREAD_MS = 10_000;

function dueTimes(count: number): number[] {
  const first = wallMs() + LEAD_MS;
  return Array.from({ length: count }, (_, i) => first + (i * SPREAD_MS) / count);
}

async function coyotesRound(ctx: BenchContext, count: number, round: number): Promise<number[]> {
  const due = dueTimes(count);
  const ids = due.map((_, i) => `delay-${round}-${i}`);
  await pushIngress(
    ctx.redis.client,
    due.map((at, i) => ingressEntry('date +%s%N', 'default', { id: ids[i], execute_at: at / 1000 })),
  );
  const started = await coyotesStartTimes(ctx.redis.client, 'default', ids);
  return ids.map((id, i) => started.get(id)! - due[i]!);
}

async function bullmqRound(queue: Queue, count: number): Promise<number[]> {
  const due = dueTimes(count);
  const jobs = await queue.addBulk(
    due.map((at) => ({
      name: 'run',
      data: { command: 'date', args: ['+%s%N'] },
      opts: { delay: Math.max(0, Math.round(at - Date.now())) },
    })),
  );
  const started = await waitFor(
    'BullMQ delayed jobs',
    async () => {
      const done = await Promise.all(jobs.map((job) => queue.getJob(job.id!)));
      if (done.some((job) => job?.returnvalue === undefined || job.returnvalue === null)) return false;
      return done.map((job) => dateOutputMs(String(job!.returnvalue)));
    },
    60_000,
  );
  return started.map((at, i) => at - due[i]!);
}

export async function benchDelay(ctx: BenchContext, count: number): Promise<Row[]> {
  const coyotes = { p50: [] as number[], p99: [] as number[] };
  const bullmq = { p50: [] as number[], p99: [] as number[] };
  const server = await startBenchCoyotes(ctx.redis.addr);
  const worker = await forkReady('bullmq-worker.mjs', [String(ctx.redis.port), 'bench-delay', '8']);
  const queue = new Queue('bench-delay', { connection: { host: '127.0.0.1', port: ctx.redis.port } });
  try {
    // each round yields `count` samples and takes SPREAD_MS per system: two rounds are plenty
    for (let round = 0; round < Math.min(ctx.rounds, 2); round += 1) {
      const c = await coyotesRound(ctx, count, round);
      coyotes.p50.push(percentile(c, 50));
      coyotes.p99.push(percentile(c, 99));
      const b = await bullmqRound(queue, count);
      bullmq.p50.push(percentile(b, 50));
      bullmq.p99.push(percentile(b, 99));
      ctx.log(
        `  round ${round + 1} lateness p50/p99: coyotes ${coyotes.p50.at(-1)!.toFixed(1)}/${coyotes.p99.at(-1)!.toFixed(1)} ms, ` +
          `bullmq ${bullmq.p50.at(-1)!.toFixed(1)}/${bullmq.p99.at(-1)!.toFixed(1)} ms`,
      );
    }
  } finally {
    await stopChild(worker);
    await queue.obliterate({ force: true });
    await queue.close();
    await stopCoyotes(server);
  }
  const what = `${count.toLocaleString('en-US')} delayed tasks due over ${SPREAD_MS / 1000} s`;
  return [
    {
      id: 'delay-lateness-p50',
      measure: `delay lateness p50 (${what})`,
      unit: 'ms',
      rounds: coyotes.p50,
      baseline: { name: 'BullMQ delayed jobs, p50', rounds: bullmq.p50 },
    },
    {
      id: 'delay-lateness-p99',
      measure: `delay lateness p99 (${what})`,
      unit: 'ms',
      rounds: coyotes.p99,
      baseline: { name: 'BullMQ delayed jobs, p99', rounds: bullmq.p99 },
      target: { on: 'value', op: '<=', value: 50 },
    },
  ];
}
