import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { HistoryStore } from '../../packages/history/src/index.js';
import type { HistoryRecord } from '../../packages/protocol/src/index.js';
import { api, startCoyotes } from './coyotes.js';
import type { RunningCoyotes } from './coyotes.js';
import { startRedis } from './redis.js';
import { keys } from './keys.js';
import type { TestRedis } from './redis.js';
import type { TestSqlServer } from './sql-server.js';
import { waitFor } from './wait.js';

/** How long the outage keeps SQL down: the 30 s. */
const OUTAGE_MS = 30_000;

/** Every run of a channel in SQL, read page by page through the store (cursor paging included). */
async function allRuns(store: HistoryStore, channel: string): Promise<HistoryRecord[]> {
  const runs: HistoryRecord[] = [];
  let cursor: [number, string, number] | undefined;
  for (;;) {
    const page = await store.list({ channel }, 400, cursor);
    runs.push(...page.items);
    if (!page.next) return runs;
    const last = page.items[page.items.length - 1]!;
    cursor = [last.finishedAt, last.taskId, last.attempt];
  }
}

/**
 * SQL stopped for 30 s while 1,000 tasks finish, run once per database by a file of its own
 * (history-outage-postgres.test.ts, history-outage-mariadb.test.ts): the outage alone is a
 * quarter of the runner's per-file limit, so it does not share a file with the other behaviour.
 */
export function historyOutage(name: string, startServer: () => Promise<TestSqlServer>): void {
  describe(`task history in ${name} through an outage`, () => {
    let sql: TestSqlServer;
    let redis: TestRedis;
    let coyotes: RunningCoyotes;
    let store: HistoryStore;

    before(async () => {
      sql = await startServer();
      redis = await startRedis();
      store = await HistoryStore.open(sql.url, { migrate: true });
      coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-history-url', sql.url] });
    });
    after(async () => {
      await store?.close();
      await coyotes?.stop('SIGKILL');
      await redis?.stop();
      await sql?.stop();
    });

    test('SQL down for 30 s while 1,000 tasks finish: all 1,000 runs land once it is back, none twice', async () => {
      await api(coyotes.baseUrl, 'POST', '/channels', { name: 'outage', worker: '8' });
      await sql.down();
      const downAt = Date.now();
      const entries = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ task: `/bin/true ${i}`, chan: 'outage', ts: 0 }));
      for (let i = 0; i < entries.length; i += 100) await redis.client.lpush(keys.prepareQueue, ...entries.slice(i, i + 100));
      // commands do not wait for SQL: every task finishes while it is down
      await waitFor(
        '1,000 tasks finished',
        async () => Number(await redis.client.hget(keys.channel('outage').stats, 'succeeded')) === 1000,
        120_000,
      );
      const health = await waitFor(
        'the outage in /health',
        async () => {
          const data = (await api(coyotes.baseUrl, 'GET', '/health')).json.data.history;
          // every run of the channel waits in its outbox (other channels' runs may wait beside them)
          return data.sql === false && data.outbox >= 1000 ? data : false;
        },
        30_000,
      );
      assert.equal(health.dropped, 0);
      const metrics = await (await fetch(`${coyotes.baseUrl}/metrics`)).text();
      assert.match(metrics, /^coyotes_history_outbox\{channel="outage"\} 1000$/m);
      assert.match(metrics, /^coyotes_history_sql_up 0$/m);
      // the outage lasts 30 s, as the issue states it: all that time the runs wait in Redis, none
      // lost, none dropped, while the writer keeps failing and backing off
      while (Date.now() - downAt < OUTAGE_MS) {
        const held = (await api(coyotes.baseUrl, 'GET', '/health')).json.data.history;
        assert.equal(held.sql, false);
        assert.ok(held.outbox >= 1000, `outbox ${held.outbox}`);
        assert.equal(held.dropped, 0);
        await sleep(1000);
      }

      await sql.up();
      const runs = await waitFor(
        '1,000 runs in SQL',
        async () => {
          const all = await allRuns(store, 'outage');
          return all.length >= 1000 ? all : false;
        },
        120_000,
      );
      assert.equal(runs.length, 1000);
      assert.equal(new Set(runs.map((r) => r.taskId)).size, 1000);
      assert.deepEqual([...new Set(runs.map((r) => `${r.status}/${r.attempt}`))], ['succeeded/1']);
      await waitFor(
        'the outbox drained',
        async () => (await api(coyotes.baseUrl, 'GET', '/health')).json.data.history.outbox === 0,
        30_000,
      );
      assert.equal((await api(coyotes.baseUrl, 'GET', '/health')).json.data.history.sql, true);
    });
  });
}
