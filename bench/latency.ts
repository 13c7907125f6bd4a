/**
 * 2. Push-to-exec latency at a low rate: each task runs `date +%s%N`, which prints the wall-clock
 * time it started; the latency is that minus the time the producer pushed. Coyotes through HTTP
 * and through `LPUSH task:prepare:queue`, against BullMQ add → worker spawn.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { waitFor } from '../test/helpers/wait.js';
import type { Row } from './report.js';
import { dateOutputMs, percentile, wallMs } from './stats.js';
import type { BenchContext } from './systems.js';
import { forkReady, ingressEntry, startBenchCoyotes, stopChild, stopCoyotes } from './systems.js';

/** One push every this many ms: low enough that nothing queues behind anything else. */
const PUSH_EVERY_MS = 20;
const COMMAND = 'date';
const ARGS = ['+%s%N'];
const LINE = `${COMMAND} ${ARGS.join(' ')}`;

/** Pushes `samples` tasks at a steady low rate; answers push time by task id. */
async function paced(samples: number, push: (i: number) => Promise<string>): Promise<Map<string, number>> {
  const pushedAt = new Map<string, number>();
  for (let i = 0; i < samples; i += 1) {
    const t = wallMs();
    pushedAt.set(await push(i), t);
    const spent = wallMs() - t;
    if (spent < PUSH_EVERY_MS) await sleep(PUSH_EVERY_MS - spent);
  }
  return pushedAt;
}

/** Start times of Coyotes tasks, read from the stdout tail of their recorded results. */
export async function coyotesStartTimes(redis: Redis, channel: string, ids: string[]): Promise<Map<string, number>> {
  return waitFor(
    `${ids.length} results`,
    async () => {
      const results = await redis.hmget(`coyotes:{${channel}}:results`, ...ids);
      if (results.some((r) => r === null)) return false;
      return new Map(ids.map((id, i) => [id, dateOutputMs((JSON.parse(results[i]!) as { stdoutTail: string }).stdoutTail)]));
    },
    60_000,
  );
}

function latencies(pushedAt: Map<string, number>, startedAt: Map<string, number>): number[] {
  return [...pushedAt].map(([id, t]) => startedAt.get(id)! - t);
}

async function coyotesHttp(ctx: BenchContext, baseUrl: string, samples: number): Promise<number[]> {
  const pushedAt = await paced(samples, async () => {
    const response = await fetch(`${baseUrl}/channels/default/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: LINE }),
    });
    const json = (await response.json()) as { data: { task_id: string } };
    return json.data.task_id;
  });
  return latencies(pushedAt, await coyotesStartTimes(ctx.redis.client, 'default', [...pushedAt.keys()]));
}

async function coyotesLpush(ctx: BenchContext, samples: number, round: number): Promise<number[]> {
  const pushedAt = await paced(samples, async (i) => {
    const id = `lat-${round}-${i}`;
    await ctx.redis.client.lpush('task:prepare:queue', ingressEntry(LINE, 'default', { id }));
    return id;
  });
  return latencies(pushedAt, await coyotesStartTimes(ctx.redis.client, 'default', [...pushedAt.keys()]));
}

export async function bullmq(queue: Queue, samples: number): Promise<number[]> {
  const pushedAt = await paced(samples, async () => (await queue.add('run', { command: COMMAND, args: ARGS })).id!);
  const startedAt = await waitFor(
    'BullMQ results',
    async () => {
      const jobs = await Promise.all([...pushedAt.keys()].map((id) => queue.getJob(id)));
      if (jobs.some((job) => job?.returnvalue === undefined || job.returnvalue === null)) return false;
      return new Map(jobs.map((job) => [job!.id!, dateOutputMs(String(job!.returnvalue))]));
    },
    60_000,
  );
  return latencies(pushedAt, startedAt);
}

export async function benchLatency(ctx: BenchContext, samples: number): Promise<Row[]> {
  const figures = { http: [[], []], lpush: [[], []], bullmq: [[], []] } as Record<'http' | 'lpush' | 'bullmq', [number[], number[]]>;
  const record = (key: keyof typeof figures, values: number[]): void => {
    figures[key][0].push(percentile(values, 50));
    figures[key][1].push(percentile(values, 99));
  };
  const coyotes = await startBenchCoyotes(ctx.redis.addr);
  const worker = await forkReady('bullmq-worker.mjs', [String(ctx.redis.port), 'bench-latency', '8']);
  const queue = new Queue('bench-latency', { connection: { host: '127.0.0.1', port: ctx.redis.port } });
  try {
    for (let round = 0; round < ctx.rounds; round += 1) {
      record('http', await coyotesHttp(ctx, coyotes.baseUrl, samples));
      record('lpush', await coyotesLpush(ctx, samples, round));
      record('bullmq', await bullmq(queue, samples));
      const show = (key: keyof typeof figures): string => `${figures[key][0].at(-1)!.toFixed(1)}/${figures[key][1].at(-1)!.toFixed(1)} ms`;
      ctx.log(`  round ${round + 1} p50/p99: http ${show('http')}, lpush ${show('lpush')}, bullmq ${show('bullmq')}`);
    }
  } finally {
    await stopChild(worker);
    await queue.obliterate({ force: true });
    await queue.close();
    await stopCoyotes(coyotes);
  }
  const rows: Row[] = [];
  for (const [key, label] of [
    ['http', 'HTTP push'],
    ['lpush', 'LPUSH task:prepare:queue'],
  ] as const) {
    for (const [index, p] of [
      [0, 'p50'],
      [1, 'p99'],
    ] as const) {
      rows.push({
        id: `latency-${key}-${p}`,
        measure: `push-to-exec latency ${p}, ${label} (${samples} tasks at ${1000 / PUSH_EVERY_MS}/s)`,
        unit: 'ms',
        rounds: figures[key][index],
        baseline: { name: `BullMQ add → worker spawn, ${p}`, rounds: figures.bullmq[index] },
        target: { on: 'ratio', op: '<=', value: 0.9 },
      });
    }
  }
  return rows;
}
