// The real channel process (Redis, IPC to master, the native spawner) after thousands of tasks:
// its open descriptors stay where they were after the warm-up, and its memory does not grow with
// the tasks run. A modest count, so it fits a loaded CI machine; `pnpm bench --only soak` runs the
// same check over 20,000 tasks (docs/benchmarks.md).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { isAlive } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const WARM_UP = 1_000;
const TASKS = 4_000;
const MiB = 1024 ** 2;

let redis: TestRedis;
let coyotes: RunningCoyotes;

before(async () => {
  redis = await startRedis();
  coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '8', '-spawner', 'native'] });
});
after(async () => {
  await coyotes?.stop('SIGKILL');
  await redis?.stop();
});

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const rss = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** LPUSHes `count` × /bin/true into the seed's ingress list and waits for the channel to have run them all. */
async function run(count: number): Promise<void> {
  const succeeded = async () => Number((await redis.client.hget(keys.channel('default').stats, 'succeeded')) ?? 0);
  const target = (await succeeded()) + count;
  const ts = Math.floor(Date.now() / 1000);
  const entries = Array.from({ length: count }, () => JSON.stringify({ task: '/bin/true', chan: 'default', ts }));
  for (let i = 0; i < entries.length; i += 1000) await redis.client.lpush(keys.prepareQueue, ...entries.slice(i, i + 1000));
  await waitFor(`${target} tasks succeeded`, async () => (await succeeded()) >= target, 300_000, 50);
}

test(`${TASKS.toLocaleString('en')} tasks through the channel process: its open fds and RSS stay flat`, async (t) => {
  const pid = await waitFor('the channel process', async () => {
    const proc = (await api(coyotes.baseUrl, 'GET', '/channels/default')).json.data?.process;
    return proc?.alive && isAlive(proc.pid) && (proc.pid as number);
  });
  await run(WARM_UP);
  const warm = { fds: openFds(pid), rss: rss(pid) };
  await run(TASKS);
  const end = { fds: openFds(pid), rss: rss(pid) };
  t.diagnostic(`fds ${warm.fds} → ${end.fds}, RSS ${(warm.rss / MiB).toFixed(1)} → ${(end.rss / MiB).toFixed(1)} MiB`);
  // the same process ran them all: a crash and restart would hide a leak
  const proc = (await api(coyotes.baseUrl, 'GET', '/channels/default')).json.data.process;
  assert.equal(proc.pid, pid);
  assert.equal(proc.restarts, 0);
  assert.ok(end.fds <= warm.fds + 2, `open fds went from ${warm.fds} to ${end.fds}`);
  // RSS wanders with V8's heap sizing and malloc's arenas; a leak of 8 KiB per task would pass it
  assert.ok(end.rss - warm.rss < 32 * MiB, `RSS went from ${(warm.rss / MiB).toFixed(1)} to ${(end.rss / MiB).toFixed(1)} MiB`);
});
