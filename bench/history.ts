/**
 * End-to-end throughput with the SQL task history on (`-history-url`, PostgreSQL started as the
 * tests start it) against the same with it off, in one run: `tasks` × /bin/true from first push to
 * last completion, one channel × 8 workers. The two servers run side by side, each on a
 * redis-server of its own, and take turns inside each round; after a history round the next waits
 * until the writer has copied every run to SQL, so its work is not billed to the other system.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { startPostgres } from '../test/helpers/postgres.js';
import { startRedis } from '../test/helpers/redis.js';
import { waitFor } from '../test/helpers/wait.js';
import type { Row } from './report.js';
import { TICKS_PER_S, cpuTicks, wallMs } from './stats.js';
import type { BenchContext } from './systems.js';
import { channelStat, childrenOf, ingressEntry, pushIngress, startBenchCoyotes, stopCoyotes, waitForStat } from './systems.js';

const COMMAND = '/bin/true';
const CHANNEL = 'default';
const OUTBOX = `coyotes:{${CHANNEL}}:history-outbox`;

/** The PostgreSQL server listening on `port`: its postmaster, whose backends come and go. */
function postmasterOf(port: number): number | null {
  const lines = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n');
  const postmaster = lines.find((line) => / -D \S+/.test(line) && line.includes(`-p ${port} `));
  return postmaster ? Number(postmaster.trim().split(/\s+/)[0]) : null;
}

/** CPU ticks of a process and its descendants: the live ones, and those it reaped (cutime, cstime). */
function treeTicks(pid: number): number {
  let reaped = 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    reaped = Number(fields[13]) + Number(fields[14]);
  } catch {
    return 0;
  }
  return cpuTicks(pid) + reaped + childrenOf(pid).reduce((sum, child) => sum + treeTicks(child.pid), 0);
}

/**
 * Tasks per second from the first push to the last completion, and the CPU µs per task of the
 * queue's processes (Coyotes, its redis-server and, with the history on, PostgreSQL) until the
 * history holds every run.
 */
async function round(
  redis: Redis,
  groups: Record<string, () => number>,
  tasks: number,
  drained: () => Promise<void>,
): Promise<{ perSecond: number; cpuUs: number; shares: string }> {
  const base = await channelStat(redis, CHANNEL, 'succeeded');
  const entries = Array.from({ length: tasks }, () => ingressEntry(COMMAND, CHANNEL));
  const ticks = () => Object.entries(groups).map(([name, read]) => [name, read()] as const);
  const before = ticks();
  const t0 = wallMs();
  await pushIngress(redis, entries);
  await waitForStat(redis, [CHANNEL], 'succeeded', base + tasks);
  const perSecond = tasks / ((wallMs() - t0) / 1000);
  await drained();
  const us = ticks().map(([name, after], i) => [name, ((after - before[i]![1]) / TICKS_PER_S / tasks) * 1e6] as const);
  return {
    perSecond,
    cpuUs: us.reduce((sum, [, one]) => sum + one, 0),
    shares: us.map(([name, one]) => `${name} ${one.toFixed(0)}`).join(' + '),
  };
}

export async function benchHistory(ctx: BenchContext, tasks: number): Promise<Row[]> {
  const on: number[] = [];
  const off: number[] = [];
  const onCpu: number[] = [];
  const offCpu: number[] = [];
  const shares = { on: '', off: '' };
  const drainS: number[] = [];
  const sql = await startPostgres();
  const historyRedis = await startRedis();
  const plain = await startBenchCoyotes(ctx.redis.addr);
  const recording = await startBenchCoyotes(historyRedis.addr, ['-history-url', sql.url]);
  try {
    // the api process and the channel process (with its spawner) apart: the history's writer runs in the first
    const groups = (master: number, redisPid: number) => {
      const children = childrenOf(master);
      const channel = children.filter((child) => child.args.includes('runner/dist/child.js')).map((child) => child.pid);
      const api = children.filter((child) => !channel.includes(child.pid)).map((child) => child.pid);
      const sum = (pids: number[]) => () => pids.reduce((total, pid) => total + cpuTicks(pid), 0);
      // the channel process and its spawner, live: not the commands the spawner reaps
      const spawners = channel.flatMap((pid) => childrenOf(pid).map((child) => child.pid));
      return { master: sum([master]), api: sum(api), channel: sum([...channel, ...spawners]), redis: sum([redisPid]) };
    };
    const postmaster = postmasterOf(sql.port);
    const plainPids = groups(plain.pid, ctx.redis.process.pid!);
    const recordingPids = { ...groups(recording.pid, historyRedis.process.pid!), postgres: () => (postmaster ? treeTicks(postmaster) : 0) };
    const drain = async () => {
      const t0 = wallMs();
      await waitFor('the history outbox drained', async () => (await historyRedis.client.llen(OUTBOX)) === 0, 300_000, 20);
      drainS.push((wallMs() - t0) / 1000);
    };
    for (let i = 0; i < ctx.rounds; i += 1) {
      // which goes first alternates, so a neighbour's burst of load does not always hit the same one
      const order = i % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const which of order) {
        if (which === 'off') {
          const result = await round(ctx.redis.client, plainPids, tasks, async () => undefined);
          off.push(result.perSecond);
          offCpu.push(result.cpuUs);
          shares.off = result.shares;
        } else {
          const result = await round(historyRedis.client, recordingPids, tasks, drain);
          on.push(result.perSecond);
          onCpu.push(result.cpuUs);
          shares.on = result.shares;
        }
      }
      ctx.log(
        `  round ${i + 1}: history on ${on.at(-1)!.toFixed(0)}/s (CPU/task µs: ${shares.on}), ` +
          `off ${off.at(-1)!.toFixed(0)}/s (${shares.off}); outbox drained ${drainS.at(-1)!.toFixed(1)} s after the last completion`,
      );
    }
  } finally {
    await stopCoyotes(recording);
    await stopCoyotes(plain);
    await historyRedis.stop();
    await sql.stop();
  }
  return [
    {
      id: 'e2e-history-on-vs-off',
      measure: `e2e throughput with -history-url (PostgreSQL), 1 channel × 8 workers (${tasks.toLocaleString('en-US')} × ${COMMAND})`,
      unit: 'tasks/s',
      rounds: on,
      baseline: { name: 'the same without -history-url', rounds: off },
      target: { on: 'ratio', op: '>=', value: 0.95 },
      note: `every run in SQL ${Math.max(...drainS).toFixed(1)} s after the last completion at worst`,
    },
    {
      id: 'queue-cpu-per-task-history-on-vs-off',
      measure: `queue CPU per task with -history-url (its processes, redis-server and PostgreSQL, until every run is in SQL; ${tasks.toLocaleString('en-US')} × ${COMMAND})`,
      unit: 'µs',
      rounds: onCpu,
      baseline: { name: 'the same without -history-url (its processes and redis-server)', rounds: offCpu },
    },
  ];
}
