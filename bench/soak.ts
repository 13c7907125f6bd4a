/**
 * 9. Soak: 20,000 × /bin/true through one channel process (8 workers, the native spawner when
 * built), pushed with LPUSH. Its open fds and RSS after a warm-up of 2,000 tasks against after
 * all of them; the same process must have run them all (test/channel-process-soak.test.ts checks
 * the same over 4,000 in the suite).
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { Row } from './report.js';
import type { BenchContext } from './systems.js';
import { channelStat, ingressEntry, pushIngress, startBenchCoyotes, stopCoyotes, waitForStat } from './systems.js';

const WARM_UP = 2_000;

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

export async function benchSoak(ctx: BenchContext, tasks: number): Promise<Row[]> {
  const coyotes = await startBenchCoyotes(ctx.redis.addr);
  const redis = ctx.redis.client;
  try {
    const run = async (count: number): Promise<void> => {
      const target = (await channelStat(redis, 'default', 'succeeded')) + count;
      await pushIngress(
        redis,
        Array.from({ length: count }, () => ingressEntry('/bin/true', 'default')),
      );
      await waitForStat(redis, ['default'], 'succeeded', target, 1_800_000);
    };
    const channelPid = async (): Promise<number> => {
      const body = (await (await fetch(`${coyotes.baseUrl}/channels/default`)).json()) as { data: { process: { pid: number } } };
      return body.data.process.pid;
    };
    await run(WARM_UP);
    const pid = await channelPid();
    const warm = { fds: openFds(pid), rss: rssMiB(pid) };
    await run(tasks - WARM_UP);
    const end = { fds: openFds(pid), rss: rssMiB(pid) };
    const same = (await channelPid()) === pid;
    ctx.log(
      `  soak: ${tasks} tasks; channel process ${pid}${same ? '' : ' (RESTARTED: not the same process)'}: fds ${warm.fds} → ${end.fds}, RSS ${warm.rss.toFixed(1)} → ${end.rss.toFixed(1)} MiB`,
    );
    if (!same) ctx.notes.push('Soak: the channel process was restarted during the run; its figures are not comparable.');
    const what = `${tasks.toLocaleString('en')} × /bin/true, 1 channel × 8 workers, after a warm-up of ${WARM_UP.toLocaleString('en')}`;
    return [
      {
        id: 'soak-channel-fds',
        measure: `channel process open fds after the run (${what})`,
        unit: 'fds',
        rounds: [end.fds],
        baseline: { name: 'after the warm-up', rounds: [warm.fds] },
        target: { on: 'ratio', op: '<=', value: 1 },
      },
      {
        id: 'soak-channel-rss',
        measure: `channel process RSS after the run (${what})`,
        unit: 'MiB',
        rounds: [end.rss],
        baseline: { name: 'after the warm-up', rounds: [warm.rss] },
        target: { on: 'ratio', op: '<=', value: 1.25 },
      },
    ];
  } finally {
    await stopCoyotes(coyotes);
  }
}
