import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { TASK_ID_RULE } from '../packages/protocol/src/index.js';
import { ENCODINGS, send } from './helpers/encodings.js';
import { keys } from './helpers/keys.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

describe('task ids and retries at the door: unique across channels, reachable, and no retry beside a twin', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  const status = async (id: string) => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data?.status as string | undefined;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr });
    for (const name of ['alpha', 'beta'])
      assert.equal((await api(coyotes.baseUrl, 'POST', '/channels', { name, worker: '1' })).status, 200);
  });
  after(async () => {
    await coyotes?.stop('SIGTERM');
    await redis?.stop();
  });

  test('an id accepted in one channel is refused in another (409 over HTTP, a dead letter from the ingress list)', async () => {
    await api(coyotes.baseUrl, 'PATCH', '/channels/alpha', { paused: 'true' });
    assert.equal((await api(coyotes.baseUrl, 'POST', '/channels/alpha/tasks', { task: 'sleep 30', id: 'shared-1' })).status, 200);
    const other = await api(coyotes.baseUrl, 'POST', '/channels/beta/tasks', { task: 'true', id: 'shared-1' });
    assert.equal(other.status, 409);
    assert.match(other.json.message, /task id shared-1 is already taken in channel alpha/);
    await redis.client.lpush(keys.prepareQueue, JSON.stringify({ id: 'shared-1', task: 'true', chan: 'beta' }));
    const letters = await waitFor('the dead letter', async () => {
      const { json } = await api(coyotes.baseUrl, 'GET', '/dead-letters');
      return json.data.count > 0 ? json.data.items : undefined;
    });
    assert.match(letters[0].reason, /already taken in channel alpha/);
    // every by-id route reaches the one task
    const task = (await api(coyotes.baseUrl, 'GET', '/tasks/shared-1')).json.data;
    assert.equal(task.channel, 'alpha');
    assert.equal(task.task_name, 'sleep 30');
    assert.equal((await api(coyotes.baseUrl, 'DELETE', '/channels/alpha/tasks/shared-1')).json.data.status, 'cancelled');
    await api(coyotes.baseUrl, 'PATCH', '/channels/alpha', { paused: 'false' });
  });

  test('ids "." and ".." are refused at the door', async () => {
    for (const id of ['.', '..']) {
      const pushed = await api(coyotes.baseUrl, 'POST', '/channels/beta/tasks', { task: 'true', id });
      assert.equal(pushed.status, 400, id);
      assert.match(pushed.json.message, /^id must be/);
    }
    const before = (await api(coyotes.baseUrl, 'GET', '/dead-letters')).json.data.count as number;
    await redis.client.lpush(keys.prepareQueue, JSON.stringify({ id: '..', task: 'true', chan: 'beta' }));
    await waitFor('the dead letter', async () => (await api(coyotes.baseUrl, 'GET', '/dead-letters')).json.data.count > before);
  });

  test('an empty id is refused, not read as absent: 400 naming id in every encoding, a dead letter naming id from the ingress list', async () => {
    for (const encoding of ENCODINGS) {
      const pushed = await send(coyotes.baseUrl, 'POST', '/channels/beta/tasks', { task: 'true', id: '' }, encoding);
      assert.deepEqual([pushed.status, pushed.code], [400, 'COY_ERR_REQUEST_INVALID'], encoding);
      assert.equal(pushed.json.message, TASK_ID_RULE, encoding);
    }
    const entry = JSON.stringify({ id: '', task: 'true', chan: 'beta' });
    await redis.client.lpush(keys.prepareQueue, entry);
    const letter = await waitFor('the dead letter', async () => {
      const { json } = await api(coyotes.baseUrl, 'GET', '/dead-letters?limit=1000');
      return (json.data.items as { payload: string; reason: string }[]).find((item) => item.payload === entry);
    });
    assert.equal(letter.reason, TASK_ID_RULE);
  });

  test('a channel with allowed_commands refuses a task env that changes which program runs (PATH, LD_PRELOAD)', async () => {
    assert.equal((await api(coyotes.baseUrl, 'POST', '/channels', { name: 'locked', worker: '1', allowed_commands: 'echo' })).status, 200);
    for (const name of ['PATH', 'LD_PRELOAD']) {
      const pushed = await api(coyotes.baseUrl, 'POST', '/channels/locked/tasks', {
        command: 'echo',
        env: JSON.stringify({ [name]: '/tmp/x' }),
      });
      assert.equal(pushed.status, 400, name);
      assert.match(pushed.json.message, new RegExp(`^env ${name} may not be set in channel locked`));
    }
    const plain = await api(coyotes.baseUrl, 'POST', '/channels/locked/tasks', {
      command: 'echo',
      env: JSON.stringify({ GREETING: 'hi' }),
    });
    assert.equal(plain.status, 200, plain.json.message);
    const free = await api(coyotes.baseUrl, 'POST', '/channels/beta/tasks', {
      command: 'true',
      env: JSON.stringify({ PATH: '/usr/bin:/bin' }),
    });
    assert.equal(free.status, 200, 'channels without allowed_commands take any env');
  });

  test('distinct: retrying a failed task while an identical one is queued answers 409 and leaves it failed', async () => {
    assert.equal((await api(coyotes.baseUrl, 'POST', '/channels', { name: 'once', worker: '1', distinct: 'true' })).status, 200);
    const failed = (await api(coyotes.baseUrl, 'POST', '/channels/once/tasks', { task: 'false' })).json.data.task_id as string;
    await waitFor('the task to fail', async () => (await status(failed)) === 'failed');
    await api(coyotes.baseUrl, 'PATCH', '/channels/once', { paused: 'true' });
    const twin = await api(coyotes.baseUrl, 'POST', '/channels/once/tasks', { task: 'false' });
    assert.equal(twin.json.data.result, true, 'the failure released the marker');
    const retried = await api(coyotes.baseUrl, 'POST', `/channels/once/failed-tasks/${failed}`);
    assert.equal(retried.status, 409);
    assert.match(retried.json.message, /identical command line is already queued or running/);
    assert.equal(await status(failed), 'failed');
    await api(coyotes.baseUrl, 'PATCH', '/channels/once', { paused: 'false' });
  });
});
