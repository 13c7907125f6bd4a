import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

/** When what fails is Redis or master: a clear code and status, never a 500. */

describe('infrastructure failures over HTTP', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let base: string;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr });
    base = coyotes.baseUrl;
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('unknown channel 404 and a bad channel name 400 carry their codes', async () => {
    const missing = await api(base, 'GET', '/channels/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.code, 'COY_ERR_CHANNEL_NOT_FOUND');
    const bad = await api(base, 'POST', '/channels', { name: 'bad name!' });
    assert.equal(bad.status, 400);
    assert.equal(bad.code, 'COY_ERR_CHANNEL_NAME_INVALID');
    assert.match(bad.json.message, /^name must be 1-64 characters/);
  });

  test('Redis unreachable: 503 COY_ERR_REDIS_UNAVAILABLE, not a 500; served again once it is back', async () => {
    await redis.down();
    try {
      for (const [method, route, body] of [
        ['GET', '/channels', undefined],
        ['POST', '/channels/default/tasks', { task: 'true' }],
      ] as const) {
        const reply = await api(base, method, route, body);
        assert.equal(reply.status, 503, `${method} ${route}: ${reply.json.message}`);
        assert.equal(reply.code, 'COY_ERR_REDIS_UNAVAILABLE');
        assert.equal(reply.json.message, 'Redis could not be reached');
      }
    } finally {
      await redis.up();
    }
    await waitFor('the API to answer again', async () => (await api(base, 'GET', '/channels')).status === 200, 30_000);
  });

  test('master not answering: 503 COY_ERR_IPC_TIMEOUT', async () => {
    process.kill(coyotes.pid, 'SIGSTOP');
    let reply;
    try {
      reply = await api(base, 'POST', '/channels', { name: 'late' });
    } finally {
      process.kill(coyotes.pid, 'SIGCONT');
    }
    assert.equal(reply.status, 503);
    assert.equal(reply.code, 'COY_ERR_IPC_TIMEOUT');
    assert.equal(reply.json.message, 'master did not answer in time');
  });
});
