import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const JSON_BODY = { 'content-type': 'application/json' };

describe('channel lifecycle: concurrent changes, delete and re-create', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;

  const patch = (name: string, body: Record<string, unknown>) =>
    api(coyotes.baseUrl, 'PATCH', `/channels/${name}`, JSON.stringify(body), JSON_BODY);
  const stored = async (name: string) => JSON.parse((await redis.client.hget('coyotes:channels', name))!) as Record<string, unknown>;
  const pausedFlag = async (name: string) => (await redis.client.exists(`coyotes:{${name}}:paused`)) === 1;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '1'] });
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('two concurrent PATCHes of different fields both hold, 30 rounds out of 30, and the pause flag agrees', async () => {
    const created = await api(coyotes.baseUrl, 'POST', '/channels', { name: 'race', worker: '1' });
    assert.equal(created.json.status_code, 200);
    for (let round = 0; round < 30; round += 1) {
      const paused = round % 2 === 1;
      const workers = round + 2;
      const [a, b] = await Promise.all([patch('race', { paused }), patch('race', { worker: workers })]);
      assert.equal(a.json.status_code, 200, JSON.stringify(a.json));
      assert.equal(b.json.status_code, 200, JSON.stringify(b.json));
      const config = await stored('race');
      assert.deepEqual({ round, paused: config.paused, workers: config.workers }, { round, paused, workers }, 'an update was lost');
      assert.equal(await pausedFlag('race'), paused, `round ${round}: the claim script's paused flag disagrees with the definition`);
    }
    // the last round paused it: a pushed task is not claimed
    assert.equal((await stored('race')).paused, true);
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/race/tasks', { command: '/bin/true' });
    const id = pushed.json.data.task_id as string;
    await sleep(1500);
    assert.equal((await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data.status, 'queued', 'a paused channel claimed a task');
    await patch('race', { paused: false });
    await waitFor(
      'the resumed channel to run the task',
      async () => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data.status === 'succeeded',
    );
  });
});
