import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Broker } from '@coyotes/broker';
import { NODE_DEAD_AFTER_MS, newChannelConfig, resolveServerOptions } from '@coyotes/protocol';
import { Scheduler } from '../src/scheduler.js';
import { loggedRecords } from '../../../test/helpers/logs.js';
import { startRedis } from '../../../test/helpers/redis.js';
import type { TestRedis } from '../../../test/helpers/redis.js';
import { waitFor } from '../../../test/helpers/wait.js';

/** A master's timers alone: a real Redis and broker, no master process, no binary. */
describe('Scheduler in process', () => {
  let redis: TestRedis;
  let broker: Broker;
  const logged = loggedRecords();
  const schedulers: Scheduler[] = [];

  before(async () => {
    redis = await startRedis();
    broker = Broker.connect(resolveServerOptions({ redis: { host: '127.0.0.1', port: redis.port, db: 0 }, keyPrefix: 'sched' }), {
      name: 'test',
    });
  });
  after(async () => {
    for (const scheduler of schedulers) scheduler.stop();
    await broker?.close();
    await redis?.stop();
  });

  const startScheduler = (channels: string[], leaseMs = 30_000) => {
    const scheduler = new Scheduler(broker, () => channels, leaseMs, pino({ level: 'debug' }, logged.stream));
    schedulers.push(scheduler);
    scheduler.start();
    return scheduler;
  };
  const queued = (channel: string) => redis.client.lrange(broker.keys.channel(channel).queued, 0, -1);

  test('a delayed task moves to its queue once due, not before: announced, or found by the next look', async () => {
    const channel = newChannelConfig('later', 1);
    const scheduler = startScheduler(['later']);
    const dueMs = Date.now() + 400;
    await broker.admission.admit(channel, [{ id: 'announced', name: 'true', executeAt: dueMs }], 'http');
    scheduler.dueAt(dueMs);
    // set by another host that announced nothing: the scheduler's longest sleep finds it
    await broker.admission.admit(channel, [{ id: 'silent', name: 'true', executeAt: dueMs }], 'http');
    const early = await queued('later');
    if (Date.now() < dueMs) assert.deepEqual(early, [], 'nothing promoted before its due time');
    await waitFor('both promoted', async () => (await queued('later')).length === 2);
    assert.deepEqual((await queued('later')).sort(), ['announced', 'silent']);
    assert.ok(Date.now() >= dueMs);
    assert.equal(await redis.client.zcard(broker.keys.channel('later').delayed), 0);
  });

  test('a lapsed lease returns its task to the queue, logged with the channel and the count', async () => {
    const channel = newChannelConfig('lapsed', 1);
    await broker.admission.admit(channel, [{ id: 'orphan', name: 'true' }], 'http');
    // claimed by a runner that then vanished: its lease lapses in 1 ms
    assert.equal((await broker.tasks.claim('lapsed', 1, 'gone-runner', 1)).length, 1);
    startScheduler(['lapsed'], 1000);
    await waitFor('the task back in its queue', async () => (await queued('lapsed')).includes('orphan'));
    assert.equal((await broker.queries.get('lapsed', 'orphan'))?.state, 'queued');
    const record = await waitFor('the requeue logged', () => logged.records.find((r) => r.channel === 'lapsed' && r.requeued === 1));
    assert.equal(record.poisoned, 0);
  });

  test('a dead node’s in-flight ingress entries go back to the ingress list, and the node is forgotten', async () => {
    await redis.client.zadd(broker.keys.nodes, Date.now() - 2 * NODE_DEAD_AFTER_MS, 'dead-node');
    await redis.client.lpush(broker.keys.prepareInFlight('dead-node'), '{"task":"true"}');
    startScheduler([], 1000);
    await waitFor('the entry back', async () => (await redis.client.lrange(broker.keys.prepareQueue, 0, -1)).includes('{"task":"true"}'));
    await waitFor('the node forgotten', async () => (await redis.client.zscore(broker.keys.nodes, 'dead-node')) === null);
    assert.equal(await redis.client.exists(broker.keys.prepareInFlight('dead-node')), 0);
    const record = await waitFor('the recovery logged', () => logged.records.find((r) => r.deadNodeId === 'dead-node'));
    assert.equal(record.recovered, 1);
  });
});
