/**
 * 1. End-to-end throughput: `tasks` × /bin/true from first push to last completion, Coyotes on
 * one channel and on two, against a plain Node spawn loop, a BullMQ worker and xargs -P 4.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { waitFor } from '../test/helpers/wait.js';
import type { Row } from './report.js';
import { wallMs } from './stats.js';
import type { BenchContext } from './systems.js';
import {
  BENCH_DIR,
  channelStat,
  forkReady,
  ingressEntry,
  pushIngress,
  startBenchCoyotes,
  stopChild,
  stopCoyotes,
  waitForStat,
} from './systems.js';

const run = promisify(execFile);
const WORKERS = 8;
const COMMAND = '/bin/true';
/** Seconds the scenario may take; on a loaded machine it runs fewer rounds rather than more. */
const BUDGET_S = 200;

async function coyotesRound(ctx: BenchContext, channels: string[], tasks: number): Promise<number> {
  const redis = ctx.redis.client;
  let base = 0;
  for (const channel of channels) base += await channelStat(redis, channel, 'succeeded');
  const entries = Array.from({ length: tasks }, (_, i) => ingressEntry(COMMAND, channels[i % channels.length]!));
  const t0 = wallMs();
  await pushIngress(redis, entries);
  await waitForStat(redis, channels, 'succeeded', base + tasks);
  return tasks / ((wallMs() - t0) / 1000);
}

async function nodeLoopRound(tasks: number): Promise<number> {
  const { stdout } = await run(process.execPath, [path.join(BENCH_DIR, 'spawn-loop.mjs'), String(tasks), String(WORKERS), COMMAND]);
  const { elapsedMs } = JSON.parse(stdout) as { elapsedMs: number };
  return tasks / (elapsedMs / 1000);
}

async function xargsRound(tasks: number): Promise<number> {
  const t0 = wallMs();
  await run('sh', ['-c', `seq ${tasks} | xargs -P 4 -n 1 ${COMMAND}`]);
  return tasks / ((wallMs() - t0) / 1000);
}

async function bullmqRound(ctx: BenchContext, tasks: number, round: number): Promise<number> {
  const name = `bench-throughput-${round}`;
  const connection = { host: '127.0.0.1', port: ctx.redis.port };
  const worker = await forkReady('bullmq-worker.mjs', [String(ctx.redis.port), name, String(WORKERS)]);
  const queue = new Queue(name, { connection });
  try {
    const jobs = Array.from({ length: tasks }, () => ({ name: 'run', data: { command: COMMAND } }));
    const t0 = wallMs();
    await queue.addBulk(jobs);
    await waitFor('BullMQ completions', async () => (await queue.getCompletedCount()) >= tasks, 300_000, 5);
    return tasks / ((wallMs() - t0) / 1000);
  } finally {
    await stopChild(worker);
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

export async function benchThroughput(ctx: BenchContext, tasks: number): Promise<Row[]> {
  const one: number[] = [];
  const two: number[] = [];
  const nodeLoop: number[] = [];
  const bullmq: number[] = [];
  const xargs: number[] = [];
  const coyotes = await startBenchCoyotes(ctx.redis.addr);
  try {
    // systems take turns inside each round, so a burst of load from a neighbour hits them alike
    const t0 = wallMs();
    for (let round = 0; round < ctx.rounds; round += 1) {
      const roundStart = wallMs();
      one.push(await coyotesRound(ctx, ['default'], tasks));
      nodeLoop.push(await nodeLoopRound(tasks));
      bullmq.push(await bullmqRound(ctx, tasks, round));
      two.push(await coyotesRound(ctx, ['default', 'biz'], tasks));
      xargs.push(await xargsRound(tasks));
      ctx.log(
        `  round ${round + 1}: coyotes 1ch ${one.at(-1)!.toFixed(0)}/s, 2ch ${two.at(-1)!.toFixed(0)}/s, node loop ${nodeLoop.at(-1)!.toFixed(0)}/s, ` +
          `bullmq ${bullmq.at(-1)!.toFixed(0)}/s, xargs ${xargs.at(-1)!.toFixed(0)}/s`,
      );
      const roundS = (wallMs() - roundStart) / 1000;
      if (round + 1 < ctx.rounds && (wallMs() - t0) / 1000 + roundS > BUDGET_S) {
        ctx.notes.push(
          `Throughput: the machine was slow (a round took ${roundS.toFixed(0)} s); stopped after ${round + 1} of ${ctx.rounds} rounds to fit the ${BUDGET_S} s budget.`,
        );
        break;
      }
    }
  } finally {
    await stopCoyotes(coyotes);
  }
  const what = `${tasks.toLocaleString('en-US')} × ${COMMAND}`;
  return [
    {
      id: 'e2e-1ch-vs-node-loop',
      measure: `e2e throughput, 1 channel × ${WORKERS} workers (${what})`,
      unit: 'tasks/s',
      rounds: one,
      baseline: { name: `plain Node spawn loop, ${WORKERS} in flight`, rounds: nodeLoop },
      target: { on: 'ratio', op: '>=', value: 0.9 },
    },
    {
      id: 'e2e-1ch-vs-bullmq',
      measure: `e2e throughput, 1 channel × ${WORKERS} workers (${what})`,
      unit: 'tasks/s',
      rounds: one,
      baseline: { name: `BullMQ worker + spawn, concurrency ${WORKERS}`, rounds: bullmq },
      target: { on: 'ratio', op: '>=', value: 1.2 },
    },
    {
      id: 'e2e-2ch-vs-1ch',
      measure: `e2e throughput, 2 channels × ${WORKERS} workers (${what})`,
      unit: 'tasks/s',
      rounds: two,
      baseline: { name: 'Coyotes on 1 channel', rounds: one },
      target: { on: 'ratio', op: '>=', value: 1.5 },
    },
    {
      id: 'e2e-2ch-vs-xargs',
      measure: `e2e throughput, 2 channels × ${WORKERS} workers (${what})`,
      unit: 'tasks/s',
      rounds: two,
      baseline: { name: 'xargs -P 4 (fork/exec limit of the machine)', rounds: xargs },
    },
  ];
}
