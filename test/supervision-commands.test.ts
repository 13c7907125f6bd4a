import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { FORKS_GRANDCHILDREN, allGone, killAll, subreaperExec, treePids, zombieChildren } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-commands-'));
const file = (name: string) => path.join(work, name);

describe('commands: timeouts, kill and cancel take the whole process tree', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  const spawned: number[] = [];

  /** Pushes the grandchild-forking fixture; answers the task id and the pids of its tree. */
  async function pushTree(channel: string, name: string, extra: Record<string, string> = {}) {
    const { json } = await api(coyotes.baseUrl, 'POST', `/channels/${channel}/tasks`, {
      command: '/bin/sh',
      args: [FORKS_GRANDCHILDREN, file(name)],
      ...extra,
    });
    assert.equal(json.status_code, 200, JSON.stringify(json));
    const pids = await treePids(file(name));
    spawned.push(...pids);
    return { taskId: json.data.task_id as string, pids };
  }

  const taskOf = async (id: string) => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data;
  const waitForFailed = (id: string) =>
    waitFor(`task ${id} to be failed`, async () => ((await taskOf(id)).status === 'failed' ? taskOf(id) : false));

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
  });
  after(async () => {
    killAll(spawned);
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('a task timeout (HTTP timeout field) SIGTERMs the group, SIGKILLs what ignores it, and records timed-out', async () => {
    const { taskId, pids } = await pushTree('default', 'timeout-http', { timeout: '1' });
    const task = await waitForFailed(taskId);
    assert.equal(task.result.outcome, 'timed-out');
    assert.equal(task.timeout, 1);
    await allGone(pids);
  });

  test('a task-job entry with task.timeout is timed out the same way', async () => {
    const target = file('timeout-taskjob');
    await redis.client.lpush(
      keys.prepareQueue,
      JSON.stringify({
        id: 'tj-timeout-1',
        tube: 'default',
        task: { cmdline: '/bin/sh', cmd_args: [FORKS_GRANDCHILDREN, target], timeout: 1 },
      }),
    );
    const pids = await treePids(target);
    spawned.push(...pids);
    const task = await waitForFailed('tj-timeout-1');
    assert.equal(task.result.outcome, 'timed-out');
    await allGone(pids);
  });

  test("a channel's default timeout applies to tasks without their own", async () => {
    const created = await api(coyotes.baseUrl, 'POST', '/channels', { name: 'short', worker: '1', timeout: '1' });
    assert.equal(created.json.status_code, 200);
    const { taskId, pids } = await waitFor('the channel process to take a task', () => pushTree('short', 'timeout-channel'));
    const task = await waitForFailed(taskId);
    assert.equal(task.result.outcome, 'timed-out');
    await allGone(pids);
  });

  test('POST /tasks/:id/kill on another host reaches the owning master over pub/sub and kills the whole tree', async () => {
    const { taskId, pids } = await pushTree('biz', 'kill-by-id');
    // a second host that runs nothing: the kill must travel through Redis to the first
    const other = await startCoyotes({ redisAddr: redis.addr, args: ['-task-mode=false'] });
    try {
      const killed = await api(other.baseUrl, 'POST', `/tasks/${taskId}/kill`);
      assert.deepEqual(killed.json.data, { task_id: taskId, status: 'killing' });
    } finally {
      await other.stop('SIGKILL');
    }
    const task = await waitForFailed(taskId);
    assert.equal(task.result.outcome, 'killed');
    await allGone(pids);
    const again = await api(coyotes.baseUrl, 'POST', `/tasks/${taskId}/kill`);
    assert.equal(again.status, 409, 'a task that no longer runs cannot be killed');
  });

  test('a killed tree whose orphan nobody reaps (Node as PID 1) is recorded when it ends, not at the end of -kill-grace', async () => {
    // master is a subreaper that never reaps: the grandchild, orphaned by the shell's death, stays a zombie
    // a Redis of its own: this file's other master must not take the task
    const own = await startRedis();
    const host = await startCoyotes({ redisAddr: own.addr, args: ['-concurrent', '1', '-kill-grace', '600'], launcher: subreaperExec() });
    try {
      // the shell dies of the SIGTERM at once; the grandchild takes 0.3 s to end, after it
      const started = file('orphan-started');
      const grandchild = `trap "sleep 0.3; exit 0" TERM; echo $$ > ${started}; while :; do sleep 0.05; done`;
      const { json } = await api(host.baseUrl, 'POST', '/channels/default/tasks', {
        command: '/bin/sh',
        args: ['-c', `/bin/sh -c '${grandchild}' & wait`],
      });
      const taskId = json.data.task_id as string;
      await waitFor(
        'the grandchild to trap SIGTERM',
        () => existsSync(started) && readFileSync(started, 'utf8').endsWith('\n'),
        30_000,
        20,
      );
      assert.equal((await api(host.baseUrl, 'POST', `/tasks/${taskId}/kill`)).status, 200);
      // before: the zombie kept the group "alive" until -kill-grace (600 s) ran out
      const task = await waitFor(
        `task ${taskId} recorded`,
        async () => {
          const found = (await api(host.baseUrl, 'GET', `/tasks/${taskId}`)).json.data;
          return found.status === 'failed' ? found : false;
        },
        60_000,
      );
      assert.equal(task.result.outcome, 'killed');
      assert.equal(task.result.signal, 'SIGTERM');
      // the scenario held: the grandchild ended as a zombie of master, never reaped
      assert.ok(zombieChildren(host.pid).length > 0, 'a zombie of master');
    } finally {
      await host.stop('SIGKILL');
      await own.stop();
    }
  });

  test('DELETE /channels/:name/tasks/:id cancels a queued task: it never runs', async () => {
    await api(coyotes.baseUrl, 'POST', '/channels', { name: 'holding', worker: '1' });
    const blocker = await waitFor('the channel process to take a task', () => pushTree('holding', 'blocker'));
    const marker = file('cancelled-ran');
    const queued = await api(coyotes.baseUrl, 'POST', '/channels/holding/tasks', { task: `touch ${marker}` });
    const id = queued.json.data.task_id as string;
    assert.equal((await taskOf(id)).status, 'queued');
    const cancelled = await api(coyotes.baseUrl, 'DELETE', `/channels/holding/tasks/${id}`);
    assert.deepEqual(cancelled.json.data, { task_id: id, status: 'cancelled' });
    // free the slot: had the task stayed queued it would run now
    await api(coyotes.baseUrl, 'POST', `/tasks/${blocker.taskId}/kill`);
    await allGone(blocker.pids);
    const after = await api(coyotes.baseUrl, 'POST', '/channels/holding/tasks', { task: `touch ${file('after-cancel')}` });
    assert.equal(after.json.status_code, 200);
    await waitFor('the next task to run', () => existsSync(file('after-cancel')));
    assert.ok(!existsSync(marker), 'the cancelled task did not run');
    assert.equal((await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data.status, 'cancelled');
  });
});
