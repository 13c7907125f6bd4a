import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { UsageSampler } from '../src/usage-sampler.js';
import type { UsageSource } from '../src/usage-sampler.js';

/** Starts a command leading its own process group, as a channel's commands do. */
function group(script: string): number {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

const openFds = (): number => readdirSync('/proc/self/fd').length;

for (const source of ['proc', 'pidusage'] satisfies UsageSource[]) {
  describe(`usage sampler (${source})`, () => {
    let busy: number;
    let idle: number;

    before(async () => {
      // one shell spinning; one shell waiting on a sleep it forked (a tree of two)
      busy = group('while :; do :; done');
      idle = group('sleep 60 & wait');
      await sleep(300);
    });
    after(() => {
      for (const pid of [busy, idle]) process.kill(-pid, 'SIGKILL');
    });

    test('a busy loop shows its CPU, a sleeping tree none, each group summed over its processes', async () => {
      const sampler = new UsageSampler(() => ({ processes: [process.pid], commandGroups: [busy, idle] }), 1000, source);
      const first = await sampler.sample();
      // no CPU figure on a pid's first sample
      assert.equal(first.commandGroups.get(busy)?.cpu, 0);
      await sleep(1500);
      const second = await sampler.sample();
      const spinning = second.commandGroups.get(busy)!;
      const sleeping = second.commandGroups.get(idle)!;
      // a busy loop gets most of a core (much less on a loaded machine), never more than one
      assert.ok(spinning.cpu > 5 && spinning.cpu <= 105, `busy loop at ${spinning.cpu} %`);
      assert.equal(spinning.processes, 1);
      assert.ok(sleeping.cpu < 5, `sleeping tree at ${sleeping.cpu} %`);
      assert.equal(sleeping.processes, 2, 'the shell and its sleep');
      assert.ok(sleeping.rss > spinning.rss, `two processes (${sleeping.rss} bytes) hold more than one (${spinning.rss})`);
      assert.ok(second.processes.get(process.pid)!.rss > 10 * 1024 * 1024, 'this Node process has more than 10 MB resident');
      assert.equal(second.pids, 4);
    });

    test('a group that ended is left out of the next sample', async () => {
      const brief = group('sleep 60');
      await sleep(100);
      const sampler = new UsageSampler(() => ({ processes: [], commandGroups: [brief] }), 1000, source);
      assert.ok((await sampler.sample()).commandGroups.has(brief));
      process.kill(-brief, 'SIGKILL');
      await sleep(200);
      assert.equal((await sampler.sample()).commandGroups.has(brief), false);
    });
  });
}

test('sampling 200 command groups from /proc leaves no file descriptor open', async () => {
  const leaders = Array.from({ length: 200 }, () => group('sleep 60'));
  try {
    await sleep(300);
    const before = openFds();
    const sampler = new UsageSampler(() => ({ processes: [process.pid], commandGroups: leaders }), 1000, 'proc');
    await sampler.sample();
    const { commandGroups } = await sampler.sample();
    assert.equal(commandGroups.size, 200);
    assert.equal(openFds(), before);
  } finally {
    for (const pid of leaders) process.kill(-pid, 'SIGKILL');
  }
});
