/**
 * RabbitMQ as the transport (-broker-url): end-to-end throughput (`tasks` × /bin/true, first push
 * to last completion) and push-to-exec latency (HTTP push, `date +%s%N`) of Coyotes whose channel
 * queues are RabbitMQ quorum queues, beside Coyotes on Redis and BullMQ in the same run. Needs
 * Debian's rabbitmq-server (a private node on free ports); without it the scenario is skipped
 * with a note.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { rabbitmqInstalled, startRabbitMQ } from '../test/helpers/rabbitmq.js';
import { bullmq, coyotesStartTimes } from './latency.js';
import type { Row } from './report.js';
import { percentile, wallMs } from './stats.js';
import type { BenchContext } from './systems.js';
import { channelStat, forkReady, ingressEntry, pushIngress, startBenchCoyotes, stopChild, stopCoyotes, waitForStat } from './systems.js';
import { bullmqRound } from './throughput.js';

const PUSH_EVERY_MS = 20;

async function throughputRound(ctx: BenchContext, tasks: number): Promise<number> {
  const base = await channelStat(ctx.redis.client, 'default', 'succeeded');
  const t0 = wallMs();
  await pushIngress(
    ctx.redis.client,
    Array.from({ length: tasks }, () => ingressEntry('/bin/true', 'default')),
  );
  await waitForStat(ctx.redis.client, ['default'], 'succeeded', base + tasks);
  return tasks / ((wallMs() - t0) / 1000);
}

/** p50 and p99 push-to-exec latency of `samples` HTTP pushes at a low rate. */
async function latencyRound(ctx: BenchContext, baseUrl: string, samples: number): Promise<[number, number]> {
  const pushedAt = new Map<string, number>();
  for (let i = 0; i < samples; i += 1) {
    const t = wallMs();
    const response = await fetch(`${baseUrl}/channels/default/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task: 'date +%s%N' }),
    });
    pushedAt.set(((await response.json()) as { data: { task_id: string } }).data.task_id, t);
    await sleep(Math.max(0, PUSH_EVERY_MS - (wallMs() - t)));
  }
  const started = await coyotesStartTimes(ctx.redis.client, 'default', [...pushedAt.keys()]);
  const latencies = [...pushedAt].map(([id, t]) => started.get(id)! - t);
  return [percentile(latencies, 50), percentile(latencies, 99)];
}

async function bullmqLatency(ctx: BenchContext, samples: number): Promise<[number, number]> {
  const worker = await forkReady('bullmq-worker.mjs', [String(ctx.redis.port), 'bench-rabbitmq-latency', '8']);
  const queue = new Queue('bench-rabbitmq-latency', { connection: { host: '127.0.0.1', port: ctx.redis.port } });
  try {
    const latencies = await bullmq(queue, samples);
    return [percentile(latencies, 50), percentile(latencies, 99)];
  } finally {
    await stopChild(worker);
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

export async function benchRabbitMQ(ctx: BenchContext, tasks: number, samples: number): Promise<Row[]> {
  if (!rabbitmqInstalled()) {
    ctx.notes.push('RabbitMQ: skipped (no rabbitmq-server; `scripts/bootstrap.sh test` installs it).');
    return [];
  }
  const rabbit = await startRabbitMQ();
  const figures = { rabbitmq: [] as number[], redis: [] as number[], bullmq: [] as number[] };
  const latency = { rabbitmq: [[], []] as number[][], bullmq: [[], []] as number[][] };
  try {
    for (let round = 0; round < ctx.rounds; round += 1) {
      const onRabbit = await startBenchCoyotes(ctx.redis.addr, ['-broker-url', rabbit.url]);
      try {
        figures.rabbitmq.push(await throughputRound(ctx, tasks));
        const [p50, p99] = await latencyRound(ctx, onRabbit.baseUrl, samples);
        latency.rabbitmq[0]!.push(p50);
        latency.rabbitmq[1]!.push(p99);
      } finally {
        await stopCoyotes(onRabbit);
      }
      const onRedis = await startBenchCoyotes(ctx.redis.addr);
      try {
        figures.redis.push(await throughputRound(ctx, tasks));
      } finally {
        await stopCoyotes(onRedis);
      }
      figures.bullmq.push((await bullmqRound(ctx, tasks, 100 + round)).perSecond);
      const [p50, p99] = await bullmqLatency(ctx, samples);
      latency.bullmq[0]!.push(p50);
      latency.bullmq[1]!.push(p99);
      ctx.log(
        `  round ${round + 1}: ${figures.rabbitmq.at(-1)!.toFixed(0)}/s on RabbitMQ, ${figures.redis.at(-1)!.toFixed(0)}/s on Redis, ` +
          `${figures.bullmq.at(-1)!.toFixed(0)}/s BullMQ; p50 ${latency.rabbitmq[0]!.at(-1)!.toFixed(1)} ms vs BullMQ ${p50.toFixed(1)} ms`,
      );
    }
  } finally {
    await rabbit.stop();
  }
  return [
    {
      id: 'rabbitmq-e2e-vs-redis',
      measure: `end-to-end throughput on RabbitMQ (-broker-url), ${tasks} × /bin/true, 8 workers`,
      unit: 'tasks/s',
      rounds: figures.rabbitmq,
      baseline: { name: 'the same on Redis (the default transport)', rounds: figures.redis },
    },
    {
      id: 'rabbitmq-e2e-vs-bullmq',
      measure: `end-to-end throughput on RabbitMQ (-broker-url), ${tasks} × /bin/true, 8 workers`,
      unit: 'tasks/s',
      rounds: figures.rabbitmq,
      baseline: { name: 'BullMQ worker + spawn, concurrency 8', rounds: figures.bullmq },
    },
    ...(['p50', 'p99'] as const).map((p, index) => ({
      id: `rabbitmq-latency-http-${p}`,
      measure: `push-to-exec latency ${p} on RabbitMQ, HTTP push (${samples} tasks at ${1000 / PUSH_EVERY_MS}/s)`,
      unit: 'ms',
      rounds: latency.rabbitmq[index]!,
      baseline: { name: `BullMQ add → worker spawn, ${p}`, rounds: latency.bullmq[index]! },
    })),
  ];
}
