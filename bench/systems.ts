/**
 * Starting and driving the systems under comparison: Coyotes (the real built binary, through the
 * test harness) and the baselines' child processes (BullMQ worker, bare Koa, spawn loop).
 */
import { execFileSync, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { startCoyotes } from '../test/helpers/coyotes.js';
import type { RunningCoyotes } from '../test/helpers/coyotes.js';
import type { TestRedis } from '../test/helpers/redis.js';
import { waitFor } from '../test/helpers/wait.js';

export const BENCH_DIR = import.meta.dirname;
export const INGRESS = 'task:prepare:queue';

/** Coyotes as a user runs it: default lease and log level; 8 workers per channel. */
export async function startBenchCoyotes(redisAddr: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningCoyotes> {
  return startCoyotes({
    redisAddr,
    quiet: true,
    env,
    args: ['-concurrent', '8', '-lease-timeout', '30', '-kill-grace', '5', ...extra],
  });
}

/** Stops a Coyotes master and waits for it and its children to exit. */
export async function stopCoyotes(coyotes: RunningCoyotes): Promise<void> {
  await coyotes.stop('SIGTERM');
}

/** A counter of a channel's stats hash (accepted, succeeded, …). */
export async function channelStat(redis: Redis, channel: string, field: string): Promise<number> {
  return Number((await redis.hget(`coyotes:{${channel}}:stats`, field)) ?? 0);
}

/** Resolves once the summed counter of the channels reaches `target`; polls every few ms. */
export async function waitForStat(redis: Redis, channels: string[], field: string, target: number, timeoutMs = 300_000): Promise<void> {
  await waitFor(
    `${field} ≥ ${target} on ${channels.join(', ')}`,
    async () => {
      let sum = 0;
      for (const channel of channels) sum += await channelStat(redis, channel, field);
      return sum >= target;
    },
    timeoutMs,
    5,
  );
}

/** A seed-shaped ingress entry. */
export function ingressEntry(task: string, channel: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ task, chan: channel, ts: Math.floor(Date.now() / 1000), ...extra });
}

/** LPUSHes entries in batches (one round trip each), as a producer with many tasks would. */
export async function pushIngress(redis: Redis, entries: string[], batch = 5000): Promise<void> {
  for (let i = 0; i < entries.length; i += batch) await redis.lpush(INGRESS, ...entries.slice(i, i + batch));
}

/** Redis' used_memory in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const match = /used_memory:(\d+)/.exec(info);
  if (!match) throw new Error('INFO memory has no used_memory');
  return Number(match[1]);
}

/** A baseline child process started with `fork`, ready once it sends "ready". */
export async function forkReady(script: string, args: string[]): Promise<ChildProcess> {
  const child = fork(path.join(BENCH_DIR, script), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  return child;
}

/** Ends a baseline child and waits for its exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Pids, RSS (KiB) and command lines of a process' direct children. */
export function childrenOf(pid: number): { pid: number; rssKiB: number; args: string }[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,rss=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [p, rss, ...args] = line.trim().split(/\s+/);
      return { pid: Number(p), rssKiB: Number(rss), args: args.join(' ') };
    });
}

/** What every scenario gets from the run. */
export interface BenchContext {
  redis: TestRedis;
  rounds: number;
  log(line: string): void;
  /** Run-wide notes for the report (scaled-down sizes, missing features). */
  notes: string[];
}
