/**
 * `node --import tsx bench/e2e-split.ts [tasks] [rounds]`: the e2e throughput case alone, for work
 * on the per-task path: Coyotes on one channel × 8 workers and spawn-limit.c posix_spawn take turns,
 * and each round prints the rate, the ratio and the queue's CPU per task split by process (from
 * /proc, so neighbours' load moves the rate but hardly the CPU figures).
 */
import { startRedis } from '../test/helpers/redis.js';
import { buildSpawnLimit, spawnLimitRound } from './spawn-limit.js';
import { coyotesRound } from './throughput.js';
import { startBenchCoyotes, stopCoyotes } from './systems.js';
import { loadavg } from 'node:os';

const tasks = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 3);
const spawnLimit = buildSpawnLimit();
const redis = await startRedis();
const coyotes = await startBenchCoyotes(redis.addr);
const ctx = { redis, rounds, log: (line: string) => console.log(line), notes: [] };
try {
  for (let round = 0; round < rounds; round += 1) {
    const load = loadavg()[0]!.toFixed(1);
    const one = await coyotesRound(ctx, coyotes.pid, ['default'], tasks);
    const limit = 'binary' in spawnLimit ? await spawnLimitRound(spawnLimit.binary, tasks, 8, '/bin/true') : NaN;
    const shares = Object.entries(one.cpuShares)
      .map(([name, us]) => `${name} ${us.toFixed(0)}`)
      .join(' + ');
    console.log(
      `round ${round + 1} (load ${load}): coyotes ${one.perSecond.toFixed(0)}/s, posix_spawn ${limit.toFixed(0)}/s, ` +
        `ratio ${(one.perSecond / limit).toFixed(3)}; CPU/task ${one.cpuUsPerTask.toFixed(0)} µs = ${shares}`,
    );
  }
} finally {
  await stopCoyotes(coyotes);
  await redis.stop();
}
