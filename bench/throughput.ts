/**
 * 1. End-to-end throughput: `tasks` × /bin/true from first push to last completion, Coyotes on
 * one channel and on two, against a plain Node spawn loop, a BullMQ worker (production settings),
 * xargs -P 4 and the machine's limit (spawn-limit.c, posix_spawn and fork); and the CPU the queue
 * itself spends per task (utime + stime of its own processes and of redis-server, commands excluded).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { waitFor } from '../test/helpers/wait.js';
import type { Row } from './report.js';
import { buildSpawnLimit, spawnLimitRound } from './spawn-limit.js';
import { cpuTicks, TICKS_PER_S, wallMs } from './stats.js';
import type { BenchContext } from './systems.js';
import {
  BENCH_DIR,
  channelStat,
  childrenOf,
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

/** A round's rate and the queue's CPU per task in µs (its own processes and redis-server), with its share per process kind. */
export interface Round {
  perSecond: number;
  cpuUsPerTask: number;
  cpuShares: Record<string, number>;
}

/** CPU µs spent by each group of processes between two readings, per task. */
function cpuMeter(groups: Record<string, number[]>, tasks: number): () => Record<string, number> {
  const read = (pids: number[]): number => pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const before = Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, read(pids)]));
  return () =>
    Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, ((read(pids) - before[name]!) / TICKS_PER_S / tasks) * 1e6]));
}

/** A round's CPU per task by process kind, for the log: `master 40 + api 12 + …`. */
export const shares = (round: Round): string =>
  Object.entries(round.cpuShares)
    .map(([name, us]) => `${name} ${us.toFixed(0)}`)
    .join(' + ');

const total = (shares: Record<string, number>): number => Object.values(shares).reduce((sum, us) => sum + us, 0);

/** Master, its api and channel processes, and the channel processes' spawners: not the commands. */
function coyotesProcesses(master: number): Record<string, number[]> {
  const children = childrenOf(master);
  const channels = children.filter((c) => c.args.includes('runner/dist/child.js')).map((c) => c.pid);
  return {
    master: [master],
    api: children.filter((c) => !channels.includes(c.pid)).map((c) => c.pid),
    channel: channels,
    spawner: channels.flatMap((pid) =>
      childrenOf(pid)
        .filter((c) => c.args.includes('coyotes-spawner'))
        .map((c) => c.pid),
    ),
  };
}

/** `others`: more processes whose CPU counts as the queue's (a RabbitMQ server), by kind. */
export async function coyotesRound(
  ctx: BenchContext,
  master: number,
  channels: string[],
  tasks: number,
  others: Record<string, number[]> = {},
): Promise<Round> {
  const redis = ctx.redis.client;
  let base = 0;
  for (const channel of channels) base += await channelStat(redis, channel, 'succeeded');
  const entries = Array.from({ length: tasks }, (_, i) => ingressEntry(COMMAND, channels[i % channels.length]!));
  const cpu = cpuMeter({ ...coyotesProcesses(master), redis: [ctx.redis.process.pid!], ...others }, tasks);
  const t0 = wallMs();
  await pushIngress(redis, entries);
  await waitForStat(redis, channels, 'succeeded', base + tasks);
  const perSecond = tasks / ((wallMs() - t0) / 1000);
  const cpuShares = cpu();
  return { perSecond, cpuUsPerTask: total(cpuShares), cpuShares };
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

export async function bullmqRound(ctx: BenchContext, tasks: number, round: number): Promise<Round> {
  const name = `bench-throughput-${round}`;
  const connection = { host: '127.0.0.1', port: ctx.redis.port };
  const worker = await forkReady('bullmq-worker.mjs', [String(ctx.redis.port), name, String(WORKERS), String(tasks)]);
  const queue = new Queue(name, { connection });
  try {
    // the worker removes finished jobs past a count (production settings): it says when it is done
    let done = false;
    worker.on('message', (message) => (done ||= message === 'done'));
    const jobs = Array.from({ length: tasks }, () => ({ name: 'run', data: { command: COMMAND } }));
    const cpu = cpuMeter({ worker: [worker.pid!], redis: [ctx.redis.process.pid!] }, tasks);
    const t0 = wallMs();
    await queue.addBulk(jobs);
    await waitFor('BullMQ completions', () => done, 300_000, 5);
    const perSecond = tasks / ((wallMs() - t0) / 1000);
    const cpuShares = cpu();
    return { perSecond, cpuUsPerTask: total(cpuShares), cpuShares };
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
  const posixSpawn: number[] = [];
  const fork70: number[] = [];
  const coyotesCpu: number[] = [];
  const bullmqCpu: number[] = [];
  const spawnLimit = buildSpawnLimit();
  if ('missing' in spawnLimit) ctx.notes.push(`Throughput: no spawn-limit rows (${spawnLimit.missing}).`);
  const coyotes = await startBenchCoyotes(ctx.redis.addr);
  try {
    // systems take turns inside each round, so a burst of load from a neighbour hits them alike
    const t0 = wallMs();
    for (let round = 0; round < ctx.rounds; round += 1) {
      const roundStart = wallMs();
      const oneRound = await coyotesRound(ctx, coyotes.pid, ['default'], tasks);
      one.push(oneRound.perSecond);
      coyotesCpu.push(oneRound.cpuUsPerTask);
      nodeLoop.push(await nodeLoopRound(tasks));
      const viaBullmq = await bullmqRound(ctx, tasks, round);
      bullmq.push(viaBullmq.perSecond);
      bullmqCpu.push(viaBullmq.cpuUsPerTask);
      two.push((await coyotesRound(ctx, coyotes.pid, ['default', 'biz'], tasks)).perSecond);
      xargs.push(await xargsRound(tasks));
      if ('binary' in spawnLimit) {
        posixSpawn.push(await spawnLimitRound(spawnLimit.binary, tasks, WORKERS, COMMAND));
        fork70.push(await spawnLimitRound(spawnLimit.binary, tasks, WORKERS, COMMAND, { ballastMiB: 70 }));
      }
      ctx.log(
        `  round ${round + 1}: coyotes 1ch ${one.at(-1)!.toFixed(0)}/s (CPU/task µs: ${shares(oneRound)}), ` +
          `2ch ${two.at(-1)!.toFixed(0)}/s, node loop ${nodeLoop.at(-1)!.toFixed(0)}/s, ` +
          `bullmq ${bullmq.at(-1)!.toFixed(0)}/s (CPU/task µs: ${shares(viaBullmq)}), xargs ${xargs.at(-1)!.toFixed(0)}/s` +
          (posixSpawn.length > 0
            ? `, spawn-limit posix_spawn ${posixSpawn.at(-1)!.toFixed(0)}/s, fork 70 MiB ${fork70.at(-1)!.toFixed(0)}/s`
            : ''),
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
  const rows: Row[] = [
    {
      id: 'e2e-1ch-vs-node-loop',
      measure: `e2e throughput, 1 channel × ${WORKERS} workers (${what})`,
      unit: 'tasks/s',
      rounds: one,
      baseline: { name: `plain Node spawn loop, ${WORKERS} in flight`, rounds: nodeLoop },
      target: { on: 'ratio', op: '>=', value: 1.5 },
    },
    {
      id: 'e2e-1ch-vs-bullmq',
      measure: `e2e throughput, 1 channel × ${WORKERS} workers (${what})`,
      unit: 'tasks/s',
      rounds: one,
      baseline: { name: `BullMQ worker + spawn, concurrency ${WORKERS}, removeOnComplete/removeOnFail counts`, rounds: bullmq },
      target: { on: 'ratio', op: '>=', value: 2 },
    },
  ];
  if (posixSpawn.length > 0) {
    rows.push(
      {
        id: 'e2e-1ch-vs-spawn-limit',
        measure: `e2e throughput, 1 channel × ${WORKERS} workers (${what})`,
        unit: 'tasks/s',
        rounds: one,
        baseline: { name: `spawn-limit.c posix_spawn, ${WORKERS} in flight (the machine's limit)`, rounds: posixSpawn },
        target: { on: 'ratio', op: '>=', value: 0.6 },
      },
      {
        id: 'e2e-1ch-vs-spawn-limit-fork',
        measure: `e2e throughput, 1 channel × ${WORKERS} workers (${what})`,
        unit: 'tasks/s',
        rounds: one,
        baseline: { name: `spawn-limit.c fork+exec from a 70 MiB parent, ${WORKERS} in flight`, rounds: fork70 },
      },
    );
  }
  rows.push(
    {
      id: 'queue-cpu-per-task',
      measure: `queue CPU per task, 1 channel × ${WORKERS} workers (${what}; its processes + redis-server, commands excluded)`,
      unit: 'µs',
      rounds: coyotesCpu,
      baseline: { name: 'BullMQ worker + redis-server', rounds: bullmqCpu },
      target: { on: 'ratio', op: '<=', value: 0.5 },
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
  );
  return rows;
}
