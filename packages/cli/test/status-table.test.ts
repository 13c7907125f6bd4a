import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChannelStats } from '../src/client.js';
import { statsTable } from '../src/commands/status.js';

const channel = (process: ChannelStats['process']): ChannelStats =>
  ({
    name: 'reports',
    workers: 5,
    queued: 0,
    running: 0,
    delayed: 0,
    failed: 0,
    done: 0,
    paused: true,
    distinct: true,
    process,
  }) as ChannelStats;

test('a channel process not sampled yet (cpu and rss null) shows "-", beside one that is', () => {
  const table = statsTable([
    channel({ pid: 10, alive: true, restarts: 0, running: 0, cpu: null, rss: null }),
    {
      ...channel({ pid: 11, alive: true, restarts: 0, running: 0, cpu: 12.5, rss: 1024 * 1024 }),
      name: 'biz',
      paused: false,
      distinct: false,
    },
  ]);
  assert.match(table, /^reports\s+5\s+0\s+0\s+0\s+0\s+0\s+paused, distinct\s+-\s+-$/m);
  assert.match(table, /^biz\s+.*running\s+12\.5%\s+1\.0 MiB$/m);
});

test('with no figure at all, the CPU and RSS columns are left out', () => {
  const table = statsTable([channel({ pid: 10, alive: true, restarts: 0, running: 0, cpu: null, rss: null })]);
  assert.doesNotMatch(table, /CPU|RSS/);
});
