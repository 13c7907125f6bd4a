/**
 * The chaos run: N tasks, each appending its id to a file, pushed through HTTP and through
 * task:prepare:queue while channel processes are SIGKILLed, the master is SIGKILLed and
 * restarted, a second master runs beside it, and Redis (AOF, appendfsync always) restarts once.
 * At the end every id must appear at least once, and duplicates stay within what was in flight
 * at the kills. Used by test/chaos.test.ts (small) and `pnpm test:chaos` (full).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, startCoyotes } from '../helpers/coyotes.js';
import type { RunningCoyotes } from '../helpers/coyotes.js';
import { startRedis } from '../helpers/redis.js';
import type { TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

export interface ChaosOptions {
  tasks: number;
  /** Events between pushes: channel kills, master kills; Redis restarts once. */
  channelKills: number;
  masterKills: number;
  log?: (line: string) => void;
  /** Deterministic randomness. */
  seed?: number;
}

export interface ChaosReport {
  tasks: number;
  executedIds: number;
  lost: number;
  duplicates: number;
  /** Tasks running at the moments of the kills: the bound on duplicates. */
  inFlightAtKills: number;
  channelKills: number;
  masterKills: number;
  redisRestarts: number;
  leftQueued: number;
  leftLeased: number;
  seconds: number;
}

const CHANNELS = ['default', 'biz', 'cron'];

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const childPids = (pid: number): number[] => {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};

async function inFlight(redis: TestRedis): Promise<number> {
  let total = 0;
  for (const channel of CHANNELS) total += await redis.client.hlen(`coyotes:{${channel}}:running`);
  return total;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const random = mulberry32(options.seed ?? 42);
  const started = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-chaos-'));
  const out = path.join(dir, 'executed');
  const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
  const masters: RunningCoyotes[] = [];
  const args = ['-concurrent', '8', '-lease-timeout', '2', '-log-level', 'warn'];
  const report: ChaosReport = {
    tasks: options.tasks,
    executedIds: 0,
    lost: 0,
    duplicates: 0,
    inFlightAtKills: 0,
    channelKills: 0,
    masterKills: 0,
    redisRestarts: 0,
    leftQueued: 0,
    leftLeased: 0,
    seconds: 0,
  };
  try {
    let primary = await startCoyotes({ redisAddr: redis.addr, args });
    masters.push(primary);
    const second = await startCoyotes({ redisAddr: redis.addr, args });
    masters.push(second);

    const events: ('channel' | 'master' | 'redis')[] = [
      ...Array<'channel'>(options.channelKills).fill('channel'),
      ...Array<'master'>(options.masterKills).fill('master'),
      'redis',
    ];
    // spread the events over the pushes at random points
    const eventAt = new Map<number, ('channel' | 'master' | 'redis')[]>();
    for (const event of events) {
      const at = 1 + Math.floor(random() * (options.tasks - 2));
      eventAt.set(at, [...(eventAt.get(at) ?? []), event]);
    }

    const batch = 50;
    for (let i = 0; i < options.tasks; i += batch) {
      const ids = Array.from({ length: Math.min(batch, options.tasks - i) }, (_, k) => `chaos-${i + k}`);
      const viaList = ids.filter((_, k) => (i + k) % 2 === 0);
      const viaHttp = ids.filter((_, k) => (i + k) % 2 === 1);
      if (viaList.length > 0) {
        const entries = viaList.map((id) =>
          JSON.stringify({ id, task: `/bin/sh -c "echo ${id} >> ${out}"`, chan: CHANNELS[Number(id.slice(6)) % 3], ts: 1 }),
        );
        await redis.client.lpush('task:prepare:queue', ...entries);
      }
      await Promise.all(
        viaHttp.map(async (id) => {
          // retried until accepted: a producer whose request failed (master restarting) tries again
          for (;;) {
            const target = masters.find((m) => m.process.exitCode === null && m.process.signalCode === null) ?? primary;
            try {
              const { status } = await api(target.baseUrl, 'POST', `/channels/${CHANNELS[Number(id.slice(6)) % 3]}/tasks`, {
                id,
                command: '/bin/sh',
                args: ['-c', `echo ${id} >> ${out}`],
              });
              if (status === 200 || status === 409) return; // 409: accepted by an earlier try
            } catch {
              // connection refused while restarting
            }
            await sleep(50);
          }
        }),
      );
      for (let k = i; k < i + batch; k += 1) {
        for (const event of eventAt.get(k) ?? []) {
          report.inFlightAtKills += await inFlight(redis);
          if (event === 'channel') {
            const victims = childPids(primary.pid).filter(() => random() < 0.5);
            for (const pid of victims) process.kill(pid, 'SIGKILL');
            report.channelKills += 1;
            log(`killed ${victims.length} processes of master ${primary.pid}`);
          } else if (event === 'master') {
            await primary.stop('SIGKILL');
            report.masterKills += 1;
            log(`killed master ${primary.pid}; restarting it`);
            primary = await startCoyotes({ redisAddr: redis.addr, args });
            masters.push(primary);
          } else {
            await redis.restart();
            report.redisRestarts += 1;
            log('restarted Redis');
          }
        }
      }
    }

    const prefix = (c: string) => `coyotes:{${c}}:`;
    await waitFor(
      'every queue to empty',
      async () => {
        let busy = await redis.client.llen('task:prepare:queue');
        for (const c of CHANNELS) {
          busy += (await redis.client.hlen(`${prefix(c)}running`)) + (await redis.client.zcard(`${prefix(c)}delayed`));
          // cancelled ids are skipped lazily: count only ids whose spec still exists
          const queued = await redis.client.lrange(`${prefix(c)}queued`, 0, -1);
          if (queued.length > 0) busy += (await redis.client.hmget(`${prefix(c)}tasks`, ...queued)).filter(Boolean).length;
        }
        return busy === 0;
      },
      Math.max(60_000, options.tasks * 60),
      200,
    );
    const executed = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').filter(Boolean) : [];
    const seen = new Map<string, number>();
    for (const id of executed) seen.set(id, (seen.get(id) ?? 0) + 1);
    for (let i = 0; i < options.tasks; i += 1) if (!seen.has(`chaos-${i}`)) report.lost += 1;
    report.executedIds = seen.size;
    report.duplicates = executed.length - seen.size;
    for (const c of CHANNELS) {
      report.leftQueued += await redis.client.llen(`${prefix(c)}queued`);
      report.leftLeased += await redis.client.zcard(`${prefix(c)}leases`);
    }
    return report;
  } finally {
    report.seconds = Math.round((Date.now() - started) / 100) / 10;
    for (const m of masters) await m.stop('SIGKILL');
    await redis.stop();
  }
}
