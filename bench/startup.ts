/**
 * 8. Start-up, as an operator meets it: the wall time of `coyotes --version` and of
 * `coyotes status` against a running server (each a fresh `node` process, as a shell runs it),
 * against `node -e 0`, the floor of any Node program; and a server's exec → HTTP answering and
 * exec → first task run (a task queued in the ingress list before the exec), against a bare Koa
 * hello-world's exec → answering.
 */
import { execFile, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { BIN } from '../test/helpers/coyotes.js';
import { freePort } from '../test/helpers/ports.js';
import type { Row } from './report.js';
import { median, wallMs } from './stats.js';
import type { BenchContext } from './systems.js';
import { BENCH_DIR, INGRESS, ingressEntry, startBenchCoyotes, stopChild, stopCoyotes } from './systems.js';

const run = promisify(execFile);

/**
 * One run of `node args…` to its exit: wall milliseconds, and the CPU milliseconds (user + system)
 * it used, through GNU time (Debian's `time` package): on a machine shared with other load the
 * wall time mostly measures the neighbours, the CPU time what the program itself costs.
 */
async function timeNode(args: string[]): Promise<{ wall: number; cpu: number }> {
  const t0 = wallMs();
  const { stderr } = await run('/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, ...args]);
  const wall = wallMs() - t0;
  const [, user, system] = /^cpu (\S+) (\S+)$/m.exec(stderr) ?? [];
  if (user === undefined || system === undefined) throw new Error(`/usr/bin/time printed no CPU times: ${stderr}`);
  return { wall, cpu: (Number(user) + Number(system)) * 1000 };
}

/** Polls `probe` every 2 ms until it holds; answers the wall time it first held at. */
async function whenTrue(probe: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<number> {
  const deadline = wallMs() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return wallMs();
    } catch {
      // not yet
    }
    if (wallMs() > deadline) throw new Error('start-up: timed out');
    await sleep(2);
  }
}

const answers = async (url: string) => (await fetch(url)).status === 200;

/** One server start: exec → /health answering, exec → the queued task ran (its own clock). */
async function serverStart(ctx: BenchContext, dir: string, round: number): Promise<{ httpMs: number; taskMs: number }> {
  const port = await freePort();
  const stamp = path.join(dir, `ran-${round}`);
  await ctx.redis.client.lpush(INGRESS, ingressEntry(`sh -c 'date +%s%N > ${stamp}'`, 'default'));
  const t0 = wallMs();
  const server = spawn(
    process.execPath,
    [BIN, '-redis-host', ctx.redis.addr, '-http-addr', `127.0.0.1:${port}`, '-pidfile', path.join(dir, 'coyotes.pid')],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => server.once('exit', resolve));
  try {
    const httpAt = await whenTrue(() => answers(`http://127.0.0.1:${port}/health`));
    await whenTrue(() => readFileSync(stamp, 'utf8').trim().length > 0);
    const ranAt = Number(BigInt(readFileSync(stamp, 'utf8').trim()) / 1000n) / 1000;
    return { httpMs: httpAt - t0, taskMs: ranAt - t0 };
  } finally {
    server.kill('SIGTERM');
    await exited;
  }
}

/** A bare Koa hello-world: exec → answering. */
async function koaStart(): Promise<number> {
  const port = await freePort();
  const t0 = wallMs();
  const koa = fork(path.join(BENCH_DIR, 'koa-hello.mjs'), [String(port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    return (await whenTrue(() => answers(`http://127.0.0.1:${port}/`))) - t0;
  } finally {
    await stopChild(koa);
  }
}

export async function benchStartup(ctx: BenchContext, runsPerRound: number): Promise<Row[]> {
  const floor: number[] = [];
  const version: number[] = [];
  const status: number[] = [];
  const cpu = { floor: [] as number[], version: [] as number[], status: [] as number[] };
  const http: number[] = [];
  const task: number[] = [];
  const koa: number[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-bench-startup-'));
  const running = await startBenchCoyotes(ctx.redis.addr);
  try {
    for (let round = 0; round < ctx.rounds; round += 1) {
      const samples: Record<'floor' | 'version' | 'status', { wall: number; cpu: number }[]> = { floor: [], version: [], status: [] };
      // taking turns: a burst of neighbour load hits all three alike
      for (let i = 0; i < runsPerRound; i += 1) {
        samples.floor.push(await timeNode(['-e', '0']));
        samples.version.push(await timeNode([BIN, '--version', '-redis-host', ctx.redis.addr]));
        samples.status.push(await timeNode([BIN, 'status', '--addr', running.httpAddr]));
      }
      for (const [name, wall] of [
        ['floor', floor],
        ['version', version],
        ['status', status],
      ] as const) {
        wall.push(median(samples[name].map((sample) => sample.wall)));
        cpu[name].push(median(samples[name].map((sample) => sample.cpu)));
      }
      ctx.log(
        `  round ${round + 1}: node -e 0 ${floor.at(-1)!.toFixed(0)} ms (${cpu.floor.at(-1)!.toFixed(0)} ms CPU), ` +
          `--version ${version.at(-1)!.toFixed(0)} ms (${cpu.version.at(-1)!.toFixed(0)} ms CPU), ` +
          `status ${status.at(-1)!.toFixed(0)} ms (${cpu.status.at(-1)!.toFixed(0)} ms CPU) (medians of ${runsPerRound})`,
      );
    }
  } finally {
    await stopCoyotes(running);
  }
  try {
    for (let round = 0; round < ctx.rounds; round += 1) {
      const started = await serverStart(ctx, dir, round);
      http.push(started.httpMs);
      task.push(started.taskMs);
      koa.push(await koaStart());
      ctx.log(
        `  round ${round + 1}: server exec → HTTP ${http.at(-1)!.toFixed(0)} ms, → first task ran ${task.at(-1)!.toFixed(0)} ms; ` +
          `bare Koa exec → HTTP ${koa.at(-1)!.toFixed(0)} ms`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const nodeFloor = { name: 'node -e 0', rounds: floor };
  const bareKoa = { name: 'bare Koa hello-world, exec → answering', rounds: koa };
  return [
    {
      id: 'startup-version',
      measure: `start-up: coyotes --version, Redis answering (median of ${runsPerRound} runs)`,
      unit: 'ms',
      rounds: version,
      baseline: nodeFloor,
      target: { on: 'value', op: '<=', value: 150 },
    },
    {
      id: 'startup-status',
      measure: `start-up: coyotes status against a running server (median of ${runsPerRound} runs)`,
      unit: 'ms',
      rounds: status,
      baseline: nodeFloor,
      target: { on: 'value', op: '<=', value: 150 },
    },
    {
      id: 'startup-version-cpu',
      measure: 'start-up: coyotes --version, CPU time (user + system) of the process',
      unit: 'ms',
      rounds: cpu.version,
      baseline: { name: 'node -e 0, CPU time', rounds: cpu.floor },
    },
    {
      id: 'startup-status-cpu',
      measure: 'start-up: coyotes status, CPU time (user + system) of the process',
      unit: 'ms',
      rounds: cpu.status,
      baseline: { name: 'node -e 0, CPU time', rounds: cpu.floor },
    },
    {
      id: 'startup-server-http',
      measure: 'start-up: server exec → HTTP answering (/health)',
      unit: 'ms',
      rounds: http,
      baseline: bareKoa,
      target: { on: 'value', op: '<=', value: 1500 },
    },
    {
      id: 'startup-server-task',
      measure: 'start-up: server exec → a task queued before it ran (channels consuming)',
      unit: 'ms',
      rounds: task,
      baseline: bareKoa,
      target: { on: 'value', op: '<=', value: 1500 },
    },
  ];
}
