import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'amqplib';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { plainLines } from './helpers/history-behaviour.js';
import { killHost } from './helpers/hosts.js';
import { freePort } from './helpers/ports.js';
import { startRabbitMQ } from './helpers/rabbitmq.js';
import type { TestRabbitMQ } from './helpers/rabbitmq.js';
import { startRedis } from './helpers/redis.js';
import { lines } from './helpers/stamps.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

// what only the RabbitMQ transport has; the delivery behaviour both share is in delivery.test.ts

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-rabbitmq-'));

let rabbit: TestRabbitMQ;
before(async () => {
  rabbit = await startRabbitMQ();
});
after(async () => {
  await rabbit.stop();
});

/** A fresh Redis and the coyotes started on it, all stopped at the end; each test its own key prefix, so its own queues. */
async function withRedis(body: (redis: TestRedis, started: RunningCoyotes[], args: string[]) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  const started: RunningCoyotes[] = [];
  const prefix = `t${Date.now().toString(36)}`;
  try {
    await body(redis, started, ['-broker-url', rabbit.url, '-key-prefix', prefix]);
  } finally {
    for (const c of started) await c.stop('SIGKILL');
    await redis.stop();
  }
}

describe('RabbitMQ as the transport', () => {
  test('a bad -broker-url, an unreachable server or a refused login is one clear line and exit code 2', async () => {
    const redis = await startRedis();
    try {
      const closed = await freePort();
      const wrongPassword = rabbit.url.replace('guest:guest', 'guest:not-the-password');
      for (const [url, reason] of [
        [
          'http://127.0.0.1:5672',
          /^coyotes: broker-url must be an amqp:\/\/user:password@host:port\/vhost URL, got "http:\/\/127\.0\.0\.1:5672"$/,
        ],
        [
          `amqp://u:secret@127.0.0.1:${closed}`,
          new RegExp(`^coyotes: broker-url amqp://u:\\*\\*\\*@127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED`),
        ],
        [wrongPassword, /^coyotes: broker-url amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+: .*ACCESS_REFUSED/],
      ] as const) {
        const refused = await startCoyotes({ redisAddr: redis.addr, env: { COYOTES_BROKER_URL: url }, waitHttp: false });
        assert.equal((await refused.exited).code, 2, refused.output());
        const printed = plainLines(refused.output());
        assert.equal(printed.length, 1, refused.output());
        assert.match(printed[0]!, reason);
        assert.ok(!printed[0]!.includes('secret') && !printed[0]!.includes('not-the-password'), 'the password is not printed');
      }
    } finally {
      await redis.stop();
    }
  });

  test("a producer publishes the seed's JSON straight to a channel's queue: it runs, and a malformed one is dead-lettered", async () => {
    await withRedis(async (redis, started, args) => {
      const c = await startCoyotes({ redisAddr: redis.addr, args });
      started.push(c);
      const prefix = args[args.length - 1]!;
      const target = path.join(work, 'published-straight');
      const connection = await connect(rabbit.url);
      try {
        const channel = await connection.createConfirmChannel();
        // the queue exists once the channel process consumes it
        await waitFor('the queue', () => channel.checkQueue(`${prefix}.biz`).then(() => true));
        channel.sendToQueue(`${prefix}.biz`, Buffer.from(JSON.stringify({ task: `touch ${target}`, chan: 'biz', ts: 1 })), {
          persistent: true,
        });
        channel.sendToQueue(`${prefix}.biz`, Buffer.from('{not json'), { persistent: true });
        await channel.waitForConfirms();
      } finally {
        await connection.close();
      }
      await waitFor('the published task to run', () => existsSync(target), 30_000);
      const letters = await waitFor('the dead letter', async () => {
        const { json } = await api(c.baseUrl, 'GET', '/dead-letters');
        return json.data.items?.length > 0 ? json.data.items : undefined;
      });
      assert.equal(letters[0].payload, '{not json');
      assert.equal(letters[0].reason, 'not valid JSON');
    });
  });

  test('a channel deleted takes its empty queue along', async () => {
    await withRedis(async (redis, started, args) => {
      const c = await startCoyotes({ redisAddr: redis.addr, args });
      started.push(c);
      const prefix = args[args.length - 1]!;
      await api(c.baseUrl, 'POST', '/channels', { name: 'short-lived', worker: '2' });
      const target = path.join(work, 'short-lived-ran');
      await api(c.baseUrl, 'POST', '/channels/short-lived/tasks', { task: `touch ${target}` });
      await waitFor('the task to run', () => existsSync(target), 60_000);
      const connection = await connect(rabbit.url);
      connection.on('error', () => undefined);
      try {
        const queueExists = async (): Promise<boolean> => {
          const channel = await connection.createChannel();
          channel.on('error', () => undefined);
          try {
            await channel.checkQueue(`${prefix}.short-lived`);
            await channel.close();
            return true;
          } catch {
            return false; // a 404 closes the channel
          }
        };
        assert.equal(await queueExists(), true);
        await api(c.baseUrl, 'DELETE', '/channels/short-lived');
        await waitFor('the queue to be deleted', async () => !(await queueExists()), 60_000, 250);
      } finally {
        await connection.close();
      }
    });
  });

  test('resize changes the prefetch, pause stops consuming, resume consumes again', async () => {
    await withRedis(async (redis, started, args) => {
      const c = await startCoyotes({ redisAddr: redis.addr, args });
      started.push(c);
      const prefix = args[args.length - 1]!;
      const dir = mkdtempSync(path.join(work, 'sized-'));
      const gate = path.join(dir, 'gate');
      const startedRuns = path.join(dir, 'started');
      // each run says it started, then holds its slot until the gate opens
      const task = { command: '/bin/sh', args: ['-c', `echo $$ >> ${startedRuns}; while [ ! -e ${gate} ]; do sleep 0.05; done`] };
      await api(c.baseUrl, 'POST', '/channels', { name: 'sized', worker: '1' });
      for (let n = 0; n < 4; n += 1) assert.equal((await api(c.baseUrl, 'POST', '/channels/sized/tasks', task)).status, 200);
      const connection = await connect(rabbit.url);
      try {
        const channel = await connection.createChannel();
        const ready = async (): Promise<number> => (await channel.checkQueue(`${prefix}.sized`)).messageCount;
        // prefetch 1: one delivery held by the consumer, three ready in the queue
        await waitFor('one run with three ready', async () => lines(startedRuns).length === 1 && (await ready()) === 3, 30_000);
        const patched = await api(c.baseUrl, 'PATCH', '/channels/sized', { worker: '3' });
        assert.equal(patched.status, 200, JSON.stringify(patched.json));
        // the new consumer has its own prefetch of 3 (the old one's unacked delivery stays with this
        // host): three run, the fourth waits here for a slot, none is left ready
        await waitFor('three runs, none ready', async () => lines(startedRuns).length === 3 && (await ready()) === 0, 30_000);
        assert.equal((await api(c.baseUrl, 'PATCH', '/channels/sized', { paused: true })).status, 200);
        for (let n = 0; n < 2; n += 1) assert.equal((await api(c.baseUrl, 'POST', '/channels/sized/tasks', task)).status, 200);
        // paused: the delivery waiting here goes back to the queue beside the two new ones
        await waitFor('three ready in the queue while paused', async () => (await ready()) === 3, 30_000);
        // the three running finish; nothing is consumed
        writeFileSync(gate, '');
        await waitFor(
          'the three runs recorded',
          async () => (await api(c.baseUrl, 'GET', '/tasks?channel=sized&state=done')).json.data.count === 3,
          30_000,
        );
        assert.equal(await ready(), 3, 'what waits stays in the queue while paused');
        assert.equal(lines(startedRuns).length, 3, 'no run started while paused');
        assert.equal((await api(c.baseUrl, 'PATCH', '/channels/sized', { paused: false })).status, 200);
        await waitFor('every run once resumed', async () => lines(startedRuns).length === 6 && (await ready()) === 0, 30_000);
      } finally {
        await connection.close();
      }
    });
  });

  test('the queued listing shows what waits in RabbitMQ, next to run first, then what is not relayed yet', async () => {
    await withRedis(async (redis, started, args) => {
      const c = await startCoyotes({ redisAddr: redis.addr, args });
      started.push(c);
      assert.equal((await api(c.baseUrl, 'POST', '/channels', { name: 'listed', paused: 'true' })).status, 200);
      const ids: string[] = [];
      for (let n = 0; n < 5; n += 1) {
        const { json } = await api(c.baseUrl, 'POST', '/channels/listed/tasks', { task: `echo ${n}` });
        ids.push(json.data.task_id);
      }
      const prefix = args[args.indexOf('-key-prefix') + 1]!;
      const k = (name: string) => `${prefix}:{listed}:${name}`;
      await waitFor('the five relayed to RabbitMQ', async () => (await redis.client.zcard(k('published'))) === 5, 30_000);
      const listed = async (query = '') => (await api(c.baseUrl, 'GET', `/tasks?channel=listed&state=queued${query}`)).json.data;
      const shown = (data: { items: { task_id: string }[] }): string[] => data.items.map((task) => task.task_id);
      const all = await listed();
      assert.equal(all.count, 5);
      assert.deepEqual(shown(all), ids, 'all five, in push order');
      assert.deepEqual(shown(await listed('&limit=2&offset=2')), ids.slice(2, 4));
      // a later push, relayed in a later batch, comes after them
      const later = await api(c.baseUrl, 'POST', '/channels/listed/tasks', { task: 'echo later' });
      await waitFor('the sixth relayed too', async () => (await redis.client.zcard(k('published'))) === 6, 30_000);
      assert.deepEqual(shown(await listed()), [...ids, later.json.data.task_id]);
    });
  });

  test('a channel that ran on Redis moves to RabbitMQ: no push waits for the Redis claimers that are gone', async () => {
    await withRedis(async (redis, started, args) => {
      const prefix = args[args.indexOf('-key-prefix') + 1]!;
      const longLease = ['-lease-timeout', '600'];
      // first on the Redis transport, idle: its claimers are counted waiting for a hand-off
      const before = await startCoyotes({ redisAddr: redis.addr, args: ['-key-prefix', prefix, ...longLease] });
      await waitFor('an idle claimer counted waiting', async () => Number(await redis.client.get(`${prefix}:{default}:waiting`)) > 0);
      await before.stop('SIGKILL');
      const c = await startCoyotes({ redisAddr: redis.addr, args: [...args, ...longLease] });
      started.push(c);
      const runs = path.join(work, 'moved-runs');
      for (let n = 0; n < 20; n += 1) {
        assert.equal((await api(c.baseUrl, 'POST', '/channels/default/tasks', { task: `sh -c 'echo ${n} >> ${runs}'` })).status, 200);
      }
      // a hand-off to a claimer that is gone would wait for its 600-s lease
      await waitFor('the 20 to run', () => lines(runs).length === 20, 60_000);
      assert.deepEqual(
        lines(runs)
          .map(Number)
          .sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, n) => n),
      );
    });
  });

  test('a stop while RabbitMQ is away drains and exits 0; what was accepted meanwhile runs once it is back', async () => {
    await withRedis(async (redis, started, args) => {
      const c = await startCoyotes({ redisAddr: redis.addr, args });
      const ran = path.join(work, 'accepted-while-away');
      await rabbit.down();
      try {
        assert.equal((await api(c.baseUrl, 'POST', '/channels/default/tasks', { task: `sh -c 'echo ok >> ${ran}'` })).status, 200);
        // the relay waits for a connection: a stop must not wait for it
        const status = await c.stop('SIGTERM', 60_000);
        assert.deepEqual(status, { code: 0, signal: null });
      } finally {
        await rabbit.up();
      }
      const after = await startCoyotes({ redisAddr: redis.addr, args });
      started.push(after);
      await waitFor('the task accepted while RabbitMQ was away to run', () => lines(ran).length === 1, 60_000);
    });
  });

  test('rabbitmq-server restarted while 2,000 tasks flow: every accepted task runs, duplicates at most the tasks in flight', async () => {
    await withRedis(async (redis, started, args) => {
      const workers = 20;
      const c = await startCoyotes({ redisAddr: redis.addr, args: [...args, '-concurrent', String(workers)], quiet: true });
      started.push(c);
      const runs = path.join(work, 'restart-runs');
      const total = 2000;
      const entries = Array.from({ length: total }, (_, n) =>
        JSON.stringify({ task: `sh -c 'echo ${n} >> ${runs}'`, chan: 'default', ts: 1 }),
      );
      await redis.client.lpush('task:prepare:queue', ...entries);
      await waitFor('a tenth to run', () => lines(runs).length >= total / 10, 120_000, 100);
      assert.ok(lines(runs).length < total, 'the restart happens while tasks flow');
      await rabbit.down();
      await rabbit.up();
      await waitFor('every task to run', () => new Set(lines(runs)).size === total, 300_000, 250);
      const ran = lines(runs);
      assert.deepEqual(
        [...new Set(ran)].map(Number).sort((a, b) => a - b),
        Array.from({ length: total }, (_, n) => n),
      );
      const duplicates = ran.length - total;
      assert.ok(duplicates <= workers, `${duplicates} duplicate runs, more than the ${workers} tasks that can be in flight`);
    });
  });

  test('a master SIGKILLed: RabbitMQ redelivers its unacked tasks to another master, run again within seconds (long before their lease lapses)', async () => {
    await withRedis(async (redis, started, args) => {
      // a lease this long cannot bring the tasks back within the test: only the redelivery can
      const longLease = [...args, '-lease-timeout', '600'];
      const a = await startCoyotes({ redisAddr: redis.addr, args: longLease });
      started.push(a);
      const dir = mkdtempSync(path.join(work, 'killed-'));
      // the first attempt of each hangs; the second finishes at once
      const script = (n: number) => `echo $$ >> ${dir}/${n}; [ $(wc -l < ${dir}/${n}) -ge 2 ] || sleep 120`;
      const ids: string[] = [];
      for (const n of [1, 2, 3]) {
        const { json } = await api(a.baseUrl, 'POST', '/channels/default/tasks', { command: '/bin/sh', args: ['-c', script(n)] });
        ids.push(json.data.task_id);
      }
      const attempts = (n: number) => lines(path.join(dir, String(n)));
      await waitFor('the first attempts on master A', () => [1, 2, 3].every((n) => attempts(n).length === 1), 30_000);
      const b = await startCoyotes({ redisAddr: redis.addr, args: longLease });
      started.push(b);
      killHost(
        a,
        [1, 2, 3].map((n) => Number(attempts(n)[0])),
      );
      await waitFor('the second attempts, on master B', () => [1, 2, 3].every((n) => attempts(n).length === 2), 60_000);
      for (const id of ids) {
        const task = await waitFor(`task ${id} recorded`, async () => {
          const { json } = await api(b.baseUrl, 'GET', `/tasks/${id}`);
          return json.data.status === 'succeeded' ? json.data : undefined;
        });
        assert.equal(task.retry_count, 0, 'a crash does not consume retries');
      }
      assert.deepEqual(
        [1, 2, 3].map((n) => attempts(n).length),
        [2, 2, 2],
        'each ran exactly twice',
      );
    });
  });
});
