import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { FORKS_GRANDCHILDREN, allGone, childrenOf, isAlive, killAll, treePids } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import { startTwoTrees } from './helpers/two-trees.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-spawner-'));
const file = (name: string) => path.join(work, name);

/** The live channel process of a channel and its native spawner, as GET /channels/:name and ps show them. */
async function channelProcess(coyotes: RunningCoyotes, name: string): Promise<{ pid: number; restarts: number; spawner: number }> {
  return waitFor(`the ${name} channel process and its spawner`, async () => {
    const { json } = await api(coyotes.baseUrl, 'GET', `/channels/${name}`);
    const proc = json.data?.process;
    if (!proc?.alive || !isAlive(proc.pid)) return false;
    const spawner = childrenOf(proc.pid).find((c) => c.cmd.includes('coyotes-spawner'));
    return spawner && { pid: proc.pid as number, restarts: proc.restarts as number, spawner: spawner.pid };
  });
}

describe('the native spawner', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  const spawned: number[] = [];

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2', '-spawner', 'native'] });
  });
  after(async () => {
    killAll(spawned);
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('starts the commands; /health and the start log say so', async () => {
    const { json } = await api(coyotes.baseUrl, 'GET', '/health');
    assert.equal(json.data.spawner, 'native');
    assert.equal(coyotes.logs().find((l) => l.event === 'started')?.spawner, 'native');
    const { pid, spawner } = await channelProcess(coyotes, 'default');
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { command: 'sh', args: ['-c', 'echo $PPID'] });
    const task = await waitFor('the task to succeed', async () => {
      const { json: detail } = await api(coyotes.baseUrl, 'GET', `/tasks/${pushed.json.data.task_id}`);
      return detail.data.status === 'succeeded' && detail.data;
    });
    assert.equal(Number(task.result.stdout_tail.trim()), spawner, 'the command is a child of the spawner');
    assert.notEqual(spawner, pid);
  });

  test('SIGKILLed mid-run: its trees are killed, the channel process restarts, each task runs exactly once more', async () => {
    const { ids, firstRuns, secondRuns: waitForSecondRuns, runCounts } = await startTwoTrees(coyotes.baseUrl, 'biz', work);
    spawned.push(...firstRuns);

    const before = await channelProcess(coyotes, 'biz');
    process.kill(before.spawner, 'SIGKILL');
    await allGone(firstRuns);
    const after = await waitFor('a new biz process', async () => {
      const now = await channelProcess(coyotes, 'biz');
      return now.pid !== before.pid && now;
    });
    assert.equal(after.restarts, before.restarts + 1);
    assert.ok(!isAlive(before.pid), 'the channel process exited');
    assert.ok(coyotes.logs().some((l) => l.event === 'spawner-died' && l.reason === 'exited with SIGKILL'));

    const secondRuns = await waitForSecondRuns();
    spawned.push(...secondRuns);
    for (const id of ids) await api(coyotes.baseUrl, 'POST', `/tasks/${id}/kill`);
    for (const id of ids) {
      const task = await waitFor(`task ${id} to fail`, async () => {
        const { json } = await api(coyotes.baseUrl, 'GET', `/tasks/${id}`);
        return json.data.status === 'failed' && json.data;
      });
      assert.equal(task.result.outcome, 'killed');
      assert.equal(task.retry_count, 0, 'the spawner crash used up no retry (retry_count counts re-runs after failures)');
    }
    await allGone(secondRuns);
    assert.deepEqual(runCounts(), [2, 2], 'each task ran exactly twice');
  });

  test('its channel process SIGKILLed: the spawner and every command it started are gone', async () => {
    const tree = file('cron-tree');
    await api(coyotes.baseUrl, 'POST', '/channels/cron/tasks', { command: '/bin/sh', args: [FORKS_GRANDCHILDREN, tree] });
    const pids = await treePids(tree);
    spawned.push(...pids);
    const before = await channelProcess(coyotes, 'cron');
    process.kill(before.pid, 'SIGKILL');
    await allGone([before.spawner, ...pids]);
  });
});

test('-spawner node (or COYOTES_SPAWNER=node): commands start through node:child_process, and /health says so', async () => {
  const redis = await startRedis();
  const coyotes = await startCoyotes({ redisAddr: redis.addr, env: { COYOTES_SPAWNER: 'node' } });
  try {
    const { json } = await api(coyotes.baseUrl, 'GET', '/health');
    assert.equal(json.data.spawner, 'node');
    const { pid } = await waitFor('the default channel process', async () => {
      const { json: channel } = await api(coyotes.baseUrl, 'GET', '/channels/default');
      return channel.data?.process?.alive && channel.data.process;
    });
    assert.ok(!childrenOf(pid).some((c) => c.cmd.includes('coyotes-spawner')));
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { command: 'sh', args: ['-c', 'echo $PPID'] });
    const task = await waitFor('the task to succeed', async () => {
      const { json: detail } = await api(coyotes.baseUrl, 'GET', `/tasks/${pushed.json.data.task_id}`);
      return detail.data.status === 'succeeded' && detail.data;
    });
    assert.equal(Number(task.result.stdout_tail.trim()), pid, 'the command is a child of the channel process');
  } finally {
    await coyotes.stop('SIGTERM');
    await redis.stop();
  }
});
