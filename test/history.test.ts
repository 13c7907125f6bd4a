import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import { plainLines } from './helpers/history-behaviour.js';
import { keys } from './helpers/keys.js';
import { startRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

// the behaviour against real databases: history-postgres.test.ts and history-mariadb.test.ts

describe('task history, whatever the database', () => {
  test('a bad URL or no server is one clear line at start and exit code 2', async () => {
    const redis = await startRedis();
    try {
      for (const [url, reason] of [
        ['oracle://x@127.0.0.1/db', /^coyotes: history-url must be a mysql:\/\/… or postgres:\/\/… URL/],
        ['postgres://u:secret@127.0.0.1:1/db', /^coyotes: history-url postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db: .*ECONNREFUSED/],
        ['mysql://u:secret@127.0.0.1:1/db', /^coyotes: history-url mysql:\/\/u:\*\*\*@127\.0\.0\.1:1\/db: .*ECONNREFUSED/],
      ] as const) {
        const refused = await startCoyotes({ redisAddr: redis.addr, args: ['-history-url', url], waitHttp: false });
        assert.equal((await refused.exited).code, 2, refused.output());
        const lines = plainLines(refused.output());
        assert.equal(lines.length, 1, refused.output());
        assert.match(lines[0]!, reason);
      }
    } finally {
      await redis.stop();
    }
  });

  test('off by default: no outbox in Redis, and GET /history says how to turn it on', async () => {
    const redis = await startRedis();
    const coyotes = await startCoyotes({ redisAddr: redis.addr });
    try {
      const { json } = await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { command: '/bin/true' });
      await waitFor(
        'the task to finish',
        async () => (await api(coyotes.baseUrl, 'GET', `/tasks/${json.data.task_id}`)).json.data.status === 'succeeded',
        30_000,
      );
      assert.equal(await redis.client.exists(keys.channel('default').historyOutbox), 0);
      const refused = await api(coyotes.baseUrl, 'GET', '/history');
      assert.equal(refused.status, 404);
      assert.equal(refused.code, 'COY_ERR_HISTORY_DISABLED');
      assert.equal((await api(coyotes.baseUrl, 'GET', '/health')).json.data.history, null);
    } finally {
      await coyotes.stop('SIGKILL');
      await redis.stop();
    }
  });
});
