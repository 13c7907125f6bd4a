import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { killAll } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const THIRTY_DAYS_S = 30 * 86_400;

describe('task limits: long timeouts, background children', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  const spawned: number[] = [];

  const taskOf = async (id: string) => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data;
  const waitForEnd = (id: string) =>
    waitFor(
      `task ${id} to end`,
      async () => {
        const task = await taskOf(id);
        return task?.status === 'succeeded' || task?.status === 'failed' ? task : false;
      },
      30_000,
    );
  const push = async (channel: string, body: Record<string, string | string[]>) => {
    const { json } = await api(coyotes.baseUrl, 'POST', `/channels/${channel}/tasks`, body);
    assert.equal(json.status_code, 200, JSON.stringify(json));
    return json.data.task_id as string;
  };

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
    const shell = await api(coyotes.baseUrl, 'POST', '/channels', { name: 'sh', worker: '2', shell: 'true' });
    assert.equal(shell.json.status_code, 200);
  });
  after(async () => {
    killAll(spawned);
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('a task timeout of 30 days (beyond setTimeout’s 24.8-day limit) does not kill the task at once', async () => {
    const id = await push('default', { command: '/bin/sleep', args: ['1'], timeout: String(THIRTY_DAYS_S) });
    const task = await waitForEnd(id);
    assert.equal(task.status, 'succeeded', JSON.stringify(task.result));
    assert.equal(task.result.outcome, 'exited');
  });

  test('a channel timeout of 30 days set by PATCH does not kill the channel’s tasks', async () => {
    const created = await api(coyotes.baseUrl, 'POST', '/channels', { name: 'long', worker: '1' });
    assert.equal(created.json.status_code, 200);
    const patched = await api(coyotes.baseUrl, 'PATCH', '/channels/long', JSON.stringify({ timeout: THIRTY_DAYS_S }), {
      'content-type': 'application/json',
    });
    assert.equal(patched.json.status_code, 200, JSON.stringify(patched.json));
    const id = await waitFor('the channel to take a task', () => push('long', { command: '/bin/sleep', args: ['1'] }));
    const task = await waitForEnd(id);
    assert.equal(task.status, 'succeeded', JSON.stringify(task.result));
  });
});
