import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { isAlive } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

/** The open-files limit of master and so of the channel process it forks (and its spawner). */
const LIMIT = 160;
/** Each running command holds two pipe fds (stdout, stderr) on the channel side: 100 need more than 160. */
const WORKERS = 100;

interface TaskView {
  status: string;
  result: { outcome: string; exit_code: number | null; error: string | null } | null;
}

describe(`a channel of ${WORKERS} workers whose process may open ${LIMIT} files`, () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  const ids: string[] = [];

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr });
    // the channel process is forked after this, and inherits the limit (soft and hard)
    execFileSync('prlimit', [`--pid=${coyotes.pid}`, `--nofile=${LIMIT}:${LIMIT}`]);
    assert.equal((await api(coyotes.baseUrl, 'POST', '/channels', { name: 'tight', worker: String(WORKERS) })).status, 200);
  });
  after(async () => {
    for (const id of ids) await api(coyotes.baseUrl, 'POST', `/tasks/${id}/kill`).catch(() => undefined);
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('commands that cannot get their pipes fail alone, recorded with EMFILE; the others run and the channel goes on', async () => {
    for (let first = 0; first < WORKERS; first += 25) {
      const batch = Array.from({ length: 25 }, () =>
        api(coyotes.baseUrl, 'POST', '/channels/tight/tasks', { command: 'sleep', args: '300' }),
      );
      for (const pushed of await Promise.all(batch)) {
        assert.equal(pushed.status, 200);
        ids.push(pushed.json.data.task_id as string);
      }
    }
    const view = async (id: string): Promise<TaskView> => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data as TaskView;
    // settled: every task failed, or running with the pid of a started command. A task shows
    // `running` from its claim, before its spawn: one whose spawn fails is recorded a moment later
    // (waiting for `running` alone once saw all 100 so, 33 of them about to fail)
    const views = await waitFor(
      'every task failed, or running with a started command',
      async () => {
        const all = await Promise.all(ids.map(view));
        if (!all.every((task) => task.status === 'running' || task.status === 'failed')) return undefined;
        const running = all.filter((task) => task.status === 'running').length;
        const channel = (await api(coyotes.baseUrl, 'GET', '/channels/tight')).json.data as { tasks: { pid: number | null }[] };
        return channel.tasks.filter((task) => task.pid !== null).length === running && all;
      },
      90_000,
      500,
    );
    const failed = views.filter((task) => task.status === 'failed');
    const running = views.filter((task) => task.status === 'running');
    assert.ok(running.length > 0, 'some commands run');
    assert.ok(failed.length > 0, `some commands cannot start under a limit of ${LIMIT} (${running.length} run)`);
    for (const task of failed) {
      assert.equal(task.result?.outcome, 'spawn-error');
      assert.equal(task.result?.exit_code, 127);
      assert.match(task.result?.error ?? '', /^cannot start sleep: too many open files .*\(EMFILE\)$/);
    }
    const channel = (await api(coyotes.baseUrl, 'GET', '/channels/tight')).json.data;
    assert.equal(channel.process.alive, true);
    assert.equal(channel.process.restarts, 0, 'the channel process did not crash');
    assert.equal(channel.tasks.length, running.length);

    // once commands end, their fds are free again: new pushes start
    for (const [index, task] of views.entries())
      if (task.status === 'running') await api(coyotes.baseUrl, 'POST', `/tasks/${ids[index]}/kill`);
    const more = await Promise.all(
      Array.from(
        { length: 10 },
        async () => (await api(coyotes.baseUrl, 'POST', '/channels/tight/tasks', { command: 'true' })).json.data.task_id as string,
      ),
    );
    await waitFor(
      'the new pushes to succeed',
      async () => (await Promise.all(more.map(view))).every((task) => task.status === 'succeeded'),
      60_000,
      250,
    );
    assert.ok(isAlive(coyotes.pid));
    assert.equal((await api(coyotes.baseUrl, 'GET', '/channels/tight')).json.data.process.restarts, 0);
  });
});
