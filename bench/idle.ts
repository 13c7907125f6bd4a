/**
 * 8. Idle footprint: RSS of master, the api process and each channel process once Coyotes has
 * settled with nothing to do, against a bare idle Node process; and the CPU master spends idle
 * (heartbeat, scheduler, and its usage sampling of its processes).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Row } from './report.js';
import { TICKS_PER_S, cpuTicks, median } from './stats.js';
import type { BenchContext } from './systems.js';
import { childrenOf, startBenchCoyotes, stopChild, stopCoyotes } from './systems.js';

const SETTLE_MS = 3000;
const CPU_WINDOW_MS = 5000;

function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

export async function benchIdle(ctx: BenchContext): Promise<Row[]> {
  const master: number[] = [];
  const api: number[] = [];
  const channel: number[] = [];
  const bare: number[] = [];
  const masterCpu: number[] = [];
  const childrenCpu: number[] = [];
  const bareNode = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const coyotes = await startBenchCoyotes(ctx.redis.addr);
  try {
    await sleep(SETTLE_MS);
    for (let round = 0; round < ctx.rounds; round += 1) {
      const children = childrenOf(coyotes.pid);
      const channels = children.filter((c) => c.args.includes('runner'));
      const apiProcess = children.find((c) => c.args.includes('api'));
      if (!apiProcess || channels.length === 0) throw new Error(`unexpected children of master: ${JSON.stringify(children)}`);
      master.push(rssKiB(coyotes.pid) / 1024);
      api.push(rssKiB(apiProcess.pid) / 1024);
      channel.push(median(channels.map((c) => rssKiB(c.pid) / 1024)));
      bare.push(rssKiB(bareNode.pid!) / 1024);
      const before = cpuTicks(coyotes.pid);
      const childrenBefore = children.map((c) => cpuTicks(c.pid));
      await sleep(CPU_WINDOW_MS);
      masterCpu.push(((cpuTicks(coyotes.pid) - before) / TICKS_PER_S / (CPU_WINDOW_MS / 1000)) * 100);
      const childrenAfter = children.map((c) => cpuTicks(c.pid));
      childrenCpu.push((childrenAfter.reduce((sum, t, i) => sum + t - childrenBefore[i]!, 0) / TICKS_PER_S / (CPU_WINDOW_MS / 1000)) * 100);
      ctx.log(
        `  round ${round + 1}: rss master ${master.at(-1)!.toFixed(0)} MiB, api ${api.at(-1)!.toFixed(0)}, channel ${channel.at(-1)!.toFixed(0)}, ` +
          `bare node ${bare.at(-1)!.toFixed(0)}; idle cpu master ${masterCpu.at(-1)!.toFixed(2)}%, children ${childrenCpu.at(-1)!.toFixed(2)}%`,
      );
    }
  } finally {
    await stopCoyotes(coyotes);
    await stopChild(bareNode);
  }
  const baseline = { name: 'bare idle Node process', rounds: bare };
  return [
    { id: 'idle-rss-master', measure: 'idle RSS, master', unit: 'MiB', rounds: master, baseline },
    { id: 'idle-rss-api', measure: 'idle RSS, api process', unit: 'MiB', rounds: api, baseline },
    { id: 'idle-rss-channel', measure: 'idle RSS, one channel process (median of 3)', unit: 'MiB', rounds: channel, baseline },
    {
      id: 'idle-cpu-master',
      measure: `idle CPU of master over ${CPU_WINDOW_MS / 1000} s, usage sampling included`,
      unit: '% of a core',
      rounds: masterCpu,
    },
    {
      id: 'idle-cpu-children',
      measure: `idle CPU of api + 3 channel processes together over ${CPU_WINDOW_MS / 1000} s`,
      unit: '% of a core',
      rounds: childrenCpu,
    },
  ];
}
