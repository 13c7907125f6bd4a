import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAmqp } from '../src/index.js';
import { Keys } from '../src/keys.js';
import { brokerHarness } from './harness.js';
import { freePort } from '../../../test/helpers/ports.js';

// the RabbitMQ transport against a real rabbitmq-server: test/transport-rabbitmq.test.ts and test/delivery-rabbitmq.test.ts

test('the start-up check of -broker-url: no server is COY_ERR_BROKER_UNREACHABLE, named without the password', async () => {
  const port = await freePort();
  await assert.rejects(checkAmqp(`amqp://u:secret@127.0.0.1:${port}/vhost`), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'COY_ERR_BROKER_UNREACHABLE');
    assert.match(error.message, new RegExp(`^broker-url amqp://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}/vhost: .*ECONNREFUSED`));
    assert.ok(!error.message.includes('secret'));
    return true;
  });
});

describe('requeuePublished-2.lua: a deleted RabbitMQ queue', () => {
  const harness = brokerHarness();

  test('puts every published entry back at the outbox’s oldest end, in publish order, ahead of what was never published', async () => {
    const k = new Keys('requeue', 'requeue:prepare').channel('c');
    const { redis } = harness;
    const published = Array.from({ length: 2500 }, (_, i) => `p${i}`);
    // the relay reads the outbox's right end: o1 is the oldest of what was never published
    await redis.rpush(k.queued, 'o2', 'o1');
    for (let i = 0; i < published.length; i += 500) {
      await redis.zadd(k.published, ...published.slice(i, i + 500).flatMap((id, j) => [String(1000 + i + j), id]));
    }
    const batches: number[] = [];
    for (;;) {
      const moved = await redis.requeuePublished(k.queued, k.published, 1000);
      batches.push(moved);
      if (moved === 0) break;
    }
    assert.deepEqual(batches, [1000, 1000, 500, 0]);
    assert.equal(await redis.zcard(k.published), 0);
    const readOrder = (await redis.lrange(k.queued, 0, -1)).reverse();
    assert.deepEqual(readOrder, [...published, 'o1', 'o2']);
  });
});
