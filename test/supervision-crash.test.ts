import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { allGone, childrenOf, isAlive, killAll } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import { startTwoTrees } from './helpers/two-trees.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-crash-'));
const file = (name: string) => path.join(work, name);

/** The live channel process of a channel, as GET /channels/:name shows it. */
async function channelProcess(coyotes: RunningCoyotes, name: string): Promise<{ pid: number; restarts: number }> {
  return waitFor(`the ${name} channel process`, async () => {
    const { json } = await api(coyotes.baseUrl, 'GET', `/channels/${name}`);
    return json.data?.process?.alive && isAlive(json.data.process.pid) && json.data.process;
  });
}

describe('a channel process that dies', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  const spawned: number[] = [];

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
  });
  after(async () => {
    killAll(spawned);
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('is restarted; master kills its orphaned trees and requeues their tasks, which run exactly once more', async () => {
    const { ids, firstRuns, secondRuns: waitForSecondRuns, runCounts } = await startTwoTrees(coyotes.baseUrl, 'biz', work);
    spawned.push(...firstRuns);

    const before = await channelProcess(coyotes, 'biz');
    process.kill(before.pid, 'SIGKILL');
    const after = await waitFor('a new biz process', async () => {
      const now = await channelProcess(coyotes, 'biz');
      return now.pid !== before.pid && now;
    });
    assert.equal(after.restarts, before.restarts + 1);
    await allGone(firstRuns);

    const secondRuns = await waitForSecondRuns();
    spawned.push(...secondRuns);
    const requeued = coyotes.logs().find((l) => l.event === 'channel-requeued');
    assert.equal(requeued?.requeued, 2);

    // end the second runs: a recorded kill is final, so a third run could only come from a bug
    for (const id of ids) await api(coyotes.baseUrl, 'POST', `/tasks/${id}/kill`);
    for (const id of ids) {
      const task = await waitFor(`task ${id} to fail`, async () => {
        const { json } = await api(coyotes.baseUrl, 'GET', `/tasks/${id}`);
        return json.data.status === 'failed' && json.data;
      });
      assert.equal(task.result.outcome, 'killed');
      assert.equal(task.retry_count, 0, 'the crash recovery is no retry, and a killed task is not retried');
    }
    await allGone(secondRuns);
    assert.deepEqual(runCounts(), [2, 2], 'each task ran exactly twice');
  });

  test('restarts back off exponentially', async () => {
    const delays: number[] = [];
    for (let crash = 0; crash < 3; crash += 1) {
      const { pid } = await channelProcess(coyotes, 'cron');
      process.kill(pid, 'SIGKILL');
      const logged = await waitFor('the crash in the log', () =>
        coyotes.logs().find((l) => l.child === 'channel cron' && l.pid === pid && l.event === 'child-restarting'),
      );
      delays.push(logged.delayMs as number);
      await waitFor('the restart', async () => (await channelProcess(coyotes, 'cron')).pid !== pid);
    }
    assert.deepEqual(delays, [100, 200, 400]);
    const { json } = await api(coyotes.baseUrl, 'GET', '/channels/cron');
    assert.equal(json.data.process.restarts, 3);
  });
});

test('master SIGKILLed: its processes finish what runs, record it and exit; a new master waits for that drain', async () => {
  const redis = await startRedis();
  const pidfile = file('shared.pid');
  const gate = file('gate');
  let first: RunningCoyotes | undefined;
  let second: RunningCoyotes | undefined;
  try {
    first = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '1', '-pidfile', pidfile] });
    await api(first.baseUrl, 'POST', '/channels/default/tasks', {
      command: '/bin/sh',
      args: ['-c', `touch ${file('old.started')}; until [ -e ${gate} ]; do sleep 0.05; done; touch ${file('old.finished')}`],
    });
    await waitFor('the command to start', () => existsSync(file('old.started')));
    const draining = (await channelProcess(first, 'default')).pid;
    const children = childrenOf(first.pid).map((c) => c.pid);
    assert.equal(children.length, 4, 'api and three channel processes');

    process.kill(first.pid, 'SIGKILL');
    // everything without a running command exits at once
    await allGone(children.filter((pid) => pid !== draining));
    assert.ok(isAlive(draining), 'the channel process with a running command drains');
    assert.equal(readFileSync(pidfile, 'utf8').trim(), String(first.pid), 'a SIGKILLed master leaves its pidfile');

    // a stale pidfile is taken over
    second = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '1', '-pidfile', pidfile] });
    assert.equal(readFileSync(pidfile, 'utf8').trim(), String(second.pid));
    await waitFor('the new master to say it waits', () =>
      second!.logs().some((l) => l.channel === 'default' && l.pid === draining && l.event === 'channel-waiting'),
    );
    await api(second.baseUrl, 'POST', '/channels/biz/tasks', { task: `touch ${file('biz-ran')}` });
    await api(second.baseUrl, 'POST', '/channels/default/tasks', { task: `touch ${file('new-ran')}` });
    await waitFor('the other channels to work', () => existsSync(file('biz-ran')));
    const listing = (await api(second.baseUrl, 'GET', '/channels/default')).json.data;
    assert.equal(listing.process.alive, false, 'no second process for the draining channel');
    assert.deepEqual(
      listing.tasks.map((t: { status: string }) => t.status),
      ['running', 'queued'],
    );
    assert.ok(!existsSync(file('new-ran')));

    writeFileSync(gate, '');
    await allGone([draining]);
    assert.ok(existsSync(file('old.finished')));
    await waitFor('the queued task to run on the new master', () => existsSync(file('new-ran')));
    await waitFor('both results recorded', async () => (await redis.client.hget(keys.channel('default').stats, 'succeeded')) === '2');
    assert.deepEqual(await second.stop('SIGTERM'), { code: 0, signal: null });
    assert.ok(!existsSync(pidfile));
  } finally {
    await first?.stop('SIGKILL');
    await second?.stop('SIGKILL');
    await redis.stop();
  }
});
