import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { isAlive } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const TASKS = 120;

describe('master out of file descriptors', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '1'] });
    assert.equal((await api(coyotes.baseUrl, 'POST', '/channels', { name: 'wide', worker: String(TASKS) })).status, 200);
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('a usage sample that meets EMFILE leaves master running and every task recorded', async () => {
    // master's own fds plus a little room: sampling with pidusage (an fd per pid) ran out here
    // (EMFILE); sampling now reads /proc one file at a time (test/master-fds-many-commands.test.ts)
    const open = readdirSync(`/proc/${coyotes.pid}/fd`).length;
    execFileSync('prlimit', [`--pid=${coyotes.pid}`, `--nofile=${open + 40}`]);
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i += 1) {
      const pushed = await api(coyotes.baseUrl, 'POST', '/channels/wide/tasks', { command: 'sleep', args: '6' });
      assert.equal(pushed.status, 200);
      ids.push(pushed.json.data.task_id as string);
    }
    await waitFor(
      'every task finished',
      async () => {
        if (coyotes.process.exitCode !== null || coyotes.process.signalCode !== null) return 'master exited';
        const states = await Promise.all(ids.map(async (id) => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data?.status));
        return states.every((state) => state === 'succeeded' || state === 'failed');
      },
      90_000,
    );
    assert.ok(isAlive(coyotes.pid), `master died:\n${coyotes.output().slice(-2000)}`);
    assert.equal(coyotes.process.exitCode, null);
    assert.doesNotMatch(coyotes.output(), /EMFILE: too many open files, scandir/);
    assert.equal((await api(coyotes.baseUrl, 'GET', '/health')).status, 200);
  });
});
