// 20,000 commands through the native helper: the channel process's open descriptors and memory
// do not grow with the number of tasks run (≈ 15 s on 2 idle cores). On a machine so busy that
// they would not fit in the test runner's per-file timeout, it stops at RUN_FOR_MS and judges
// what ran (at least MIN_TASKS), saying so in its diagnostics.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { newChannelConfig } from '@coyotes/protocol';
import { Execution, NATIVE_SPAWNER_BINARY, NativeSpawner } from '../src/index.js';

const TASKS = 20_000;
const WARM_UP = 2_000;
const RUN_FOR_MS = 80_000;
const MIN_TASKS = 6_000;
const IN_FLIGHT = 8;

const openFds = (): number => readdirSync('/proc/self/fd').length;
const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** What this process holds, measured after a full GC: the V8 heap alone, and RSS (which also moves with malloc's arenas). */
const footprint = () => {
  gc();
  return { fds: openFds(), heap: process.memoryUsage().heapUsed, rss: rss() };
};
const MiB = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

test(`${TASKS.toLocaleString('en')} tasks: open fds and RSS of the process that runs them stay flat`, async (t) => {
  const spawner = new NativeSpawner(NATIVE_SPAWNER_BINARY);
  const channel = newChannelConfig('default', IN_FLIGHT);
  const options = { commandRoot: '/tmp', killGraceMs: 500, outputTailBytes: 4096, host: 'h', nodeId: 'n', spawner };
  const log = pino({ level: 'silent' });
  let started = 0;
  const deadline = Date.now() + RUN_FOR_MS;
  let failed = 0;
  let warm: ReturnType<typeof footprint> | undefined;
  const slot = async (): Promise<void> => {
    while (started < TASKS && (started < MIN_TASKS || Date.now() < deadline)) {
      const n = ++started;
      const spec = {
        id: `t${n}`,
        channel: 'default',
        name: 'true',
        command: { name: 'true', args: [] },
        createdAt: 0,
        source: 'http' as const,
      };
      const result = await new Execution(spec, channel, options, log).done;
      if (result.outcome !== 'exited' || result.exitCode !== 0) failed += 1;
      if (n === WARM_UP) warm = footprint();
    }
  };
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, slot));
  } finally {
    spawner.close();
  }
  const end = footprint();
  t.diagnostic(
    `${started} tasks ran; fds ${warm?.fds} → ${end.fds}, heap ${MiB(warm?.heap ?? 0)} → ${MiB(end.heap)}, RSS ${MiB(warm?.rss ?? 0)} → ${MiB(end.rss)}`,
  );
  assert.equal(failed, 0);
  assert.ok(warm);
  assert.ok(end.fds <= warm.fds + 2, `open fds went from ${warm.fds} to ${end.fds}`);
  // a leak of even 200 bytes per task would show as 3.6 MiB of heap here
  assert.ok(end.heap - warm.heap < 2 * 1024 ** 2, `the heap went from ${MiB(warm.heap)} to ${MiB(end.heap)}`);
  // RSS wanders by tens of MiB with the allocator whatever the spawner (measured the same with node:child_process)
  assert.ok(end.rss - warm.rss < 48 * 1024 ** 2, `RSS went from ${MiB(warm.rss)} to ${MiB(end.rss)}`);
});
