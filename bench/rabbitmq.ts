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
import { forkReady, startBenchCoyotes, stopChild, stopCoyotes } from './systems.js';
import { descendants } from '../test/helpers/hosts.js';
import { bullmqRound, coyotesRound, shares } from './throughput.js';
import type { Round } from './throughput.js';

const PUSH_EVERY_MS = 20;

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
  const server = (): number[] => descendants(rabbit.pid()!);
  const figures = { rabbitmq: [] as number[], redis: [] as number[], bullmq: [] as number[] };
  const cpu = { rabbitmq: [] as Round[], redis: [] as Round[] };
  const latency = { rabbitmq: [[], []] as number[][], bullmq: [[], []] as number[][] };
  try {
    for (let round = 0; round < ctx.rounds; round += 1) {
      const onRabbit = await startBenchCoyotes(ctx.redis.addr, ['-broker-url', rabbit.url]);
      try {
        const round = await coyotesRound(ctx, onRabbit.pid, ['default'], tasks, { rabbitmq: server() });
        figures.rabbitmq.push(round.perSecond);
        cpu.rabbitmq.push(round);
        const [p50, p99] = await latencyRound(ctx, onRabbit.baseUrl, samples);
        latency.rabbitmq[0]!.push(p50);
        latency.rabbitmq[1]!.push(p99);
      } finally {
        await stopCoyotes(onRabbit);
      }
      const onRedis = await startBenchCoyotes(ctx.redis.addr);
      try {
        const round = await coyotesRound(ctx, onRedis.pid, ['default'], tasks);
        figures.redis.push(round.perSecond);
        cpu.redis.push(round);
      } finally {
        await stopCoyotes(onRedis);
      }
      figures.bullmq.push((await bullmqRound(ctx, tasks, 100 + round)).perSecond);
      const [p50, p99] = await bullmqLatency(ctx, samples);
      latency.bullmq[0]!.push(p50);
      latency.bullmq[1]!.push(p99);
      ctx.log(
        `  round ${round + 1}: ${figures.rabbitmq.at(-1)!.toFixed(0)}/s on RabbitMQ, ${figures.redis.at(-1)!.toFixed(0)}/s on Redis, ` +
          `${figures.bullmq.at(-1)!.toFixed(0)}/s BullMQ; p50 ${latency.rabbitmq[0]!.at(-1)!.toFixed(1)} ms vs BullMQ ${p50.toFixed(1)} ms; ` +
          `CPU/task µs on RabbitMQ ${shares(cpu.rabbitmq.at(-1)!)}; on Redis ${shares(cpu.redis.at(-1)!)}`,
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
    {
      id: 'rabbitmq-cpu-vs-redis',
      measure: `queue CPU per task on RabbitMQ (its processes, redis-server and the RabbitMQ server; commands excluded)`,
      unit: 'µs',
      rounds: cpu.rabbitmq.map((round) => round.cpuUsPerTask),
      baseline: { name: 'the same on Redis (its processes and redis-server)', rounds: cpu.redis.map((round) => round.cpuUsPerTask) },
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
