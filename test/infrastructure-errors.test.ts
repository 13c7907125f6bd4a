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
    // Redis may come back empty: master seeds the channels again on its next reconcile
    await waitFor(
      'the API to answer again, with the seed channels',
      async () => {
        const reply = await api(base, 'GET', '/channels');
        return reply.status === 200 && reply.json.data.default !== undefined;
      },
      30_000,
    );
  });

  test('master stalled (SIGSTOP): /channels and /health answer without it; a channel written meanwhile is applied once it runs again', async () => {
    // sooner than the 10 s the api used to wait for master's reply: no route asks master anything
    const get = async (route: string) => {
      const response = await fetch(`${base}${route}`, { signal: AbortSignal.timeout(8_000) });
      return { status: response.status, json: (await response.json()) as { data: any } };
    };
    process.kill(coyotes.pid, 'SIGSTOP');
    try {
      const created = await api(base, 'POST', '/channels', { name: 'late', worker: '2' });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      const listing = await get('/channels');
      assert.equal(listing.status, 200);
      assert.equal(listing.json.data.late.workers, 2, 'the definition is in Redis at once');
      assert.equal(listing.json.data.late.process, null, 'no process runs it yet: master is stopped');
      assert.equal(typeof listing.json.data.default.count, 'number');
      // what /health can say of a stalled master: its figures stopped coming
      const health = await waitFor(
        '/health to see master silent',
        async () => {
          const reply = await get('/health');
          return reply.status === 503 && reply;
        },
        30_000,
      );
      assert.deepEqual(
        [health.json.data.redis, health.json.data.master, health.json.data.processes],
        [true, false, null],
        JSON.stringify(health.json),
      );
    } finally {
      process.kill(coyotes.pid, 'SIGCONT');
    }
    const applied = await waitFor(
      'master to apply the channel written while it was stopped, and /health to be well again',
      async () => {
        const reply = await get('/health');
        return reply.status === 200 && reply.json.data.processes.channels.late?.alive === true && reply;
      },
      30_000,
    );
    assert.equal(applied.json.data.master, true);
  });
});
