import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Broker } from '@coyotes/broker';
import { newChannelConfig, resolveServerOptions } from '@coyotes/protocol';
import type { ChannelConfig } from '@coyotes/protocol';
import { PrepareDispatcher } from '../src/dispatcher.js';
import { startRedis } from '../../../test/helpers/redis.js';
import type { TestRedis } from '../../../test/helpers/redis.js';
import { waitFor } from '../../../test/helpers/wait.js';

/** The ingress dispatcher alone: a real Redis and broker, no master process, no binary. */
describe('ingress dispatcher', () => {
  let redis: TestRedis;
  let broker: Broker;
  let dispatcher: PrepareDispatcher;
  const channels = new Map<string, ChannelConfig>([
    ['default', newChannelConfig('default', 1, { paused: true })],
    ['locked', newChannelConfig('locked', 1, { paused: true, allowedCommands: ['echo'] })],
  ]);

  before(async () => {
    redis = await startRedis();
    broker = Broker.connect(resolveServerOptions({ redis: { host: '127.0.0.1', port: redis.port, db: 0 }, keyPrefix: 'dispatch' }), {
      name: 'test',
    });
    dispatcher = new PrepareDispatcher(broker, 'node-1', 'default', (name) => channels.get(name), pino({ level: 'silent' }));
    await dispatcher.start();
  });
  after(async () => {
    await dispatcher?.stop();
    await broker?.close();
    await redis?.stop();
  });

  test('valid entries reach their channels; the rest are dead-lettered with the broker door’s reason and their payload', async () => {
    const entries = [
      JSON.stringify({ task: 'echo a', id: 'in-a' }),
      JSON.stringify({ task: 'echo b', chan: 'locked', id: 'in-b' }),
      JSON.stringify({ task: 'rm x', chan: 'locked' }),
      JSON.stringify({ task: 'echo c', chan: 'nowhere' }),
      JSON.stringify({ task: 'echo d', id: 'bad id!' }),
      '{not json',
    ];
    await redis.client.lpush(broker.keys.prepareQueue, ...entries);
    await waitFor('the ingress list to drain', async () => (await redis.client.llen(broker.keys.prepareQueue)) === 0);
    const letters = await waitFor('four dead letters', async () => {
      const { total, items } = await broker.deadLetters.list(0, 10);
      return total === 4 ? items : undefined;
    });
    assert.deepEqual(await redis.client.lrange(broker.keys.channel('default').queued, 0, -1), ['in-a']);
    assert.deepEqual(await redis.client.lrange(broker.keys.channel('locked').queued, 0, -1), ['in-b']);
    const reasons = new Map(letters.map((letter) => [letter.payload, letter.reason]));
    assert.equal(reasons.get(entries[2]!), 'command "rm" is not in the allowed_commands of channel locked');
    assert.equal(reasons.get(entries[3]!), 'unknown channel "nowhere"');
    assert.match(reasons.get(entries[4]!)!, /^id must be/);
    assert.equal(reasons.get(entries[5]!), 'not valid JSON');
    assert.equal(await redis.client.exists(broker.keys.prepareInFlight('node-1')), 0);
  });
});

describe('ingress dispatcher: start, bursts, producer ids', () => {
  let redis: TestRedis;
  let broker: Broker;
  let dispatcher: PrepareDispatcher | undefined;
  const channels = new Map<string, ChannelConfig>([['default', newChannelConfig('default', 1, { paused: true })]]);

  before(async () => {
    redis = await startRedis();
    broker = Broker.connect(resolveServerOptions({ redis: { host: '127.0.0.1', port: redis.port, db: 0 }, keyPrefix: 'dispatch2' }), {
      name: 'test',
    });
  });
  after(async () => {
    await dispatcher?.stop();
    await broker?.close();
    await redis?.stop();
  });

  /** Every entry taken and the batch released: nothing left in the list or in flight. */
  const settled = () =>
    waitFor('the ingress list drained and released', async () => {
      const [waiting, inFlight] = await Promise.all([
        redis.client.llen(broker.keys.prepareQueue),
        redis.client.exists(broker.keys.prepareInFlight('node-2')),
      ]);
      return waiting === 0 && inFlight === 0;
    });
  const queued = () => redis.client.lrange(broker.keys.channel('default').queued, 0, -1);

  test('what a previous life of this node left in flight is dispatched at start; a producer id pushed twice is one task, no dead letter', async () => {
    await redis.client.lpush(broker.keys.prepareInFlight('node-2'), JSON.stringify({ task: 'echo left', id: 'left-1' }));
    dispatcher = new PrepareDispatcher(broker, 'node-2', 'default', (name) => channels.get(name), pino({ level: 'silent' }));
    await dispatcher.start();
    await waitFor('the recovered entry queued', async () => (await queued()).includes('left-1'));
    await redis.client.lpush(broker.keys.prepareQueue, JSON.stringify({ task: 'echo left', id: 'left-1' }));
    await settled();
    assert.deepEqual(await queued(), ['left-1']);
    assert.equal((await broker.deadLetters.list(0, 10)).total, 0);
  });

  test('a channel this master has not heard of yet is read from Redis, not dead-lettered', async () => {
    // created through another process a moment ago: in Redis, not yet in this master's map
    await broker.channels.put(newChannelConfig('fresh', 1, { paused: true }));
    await redis.client.lpush(broker.keys.prepareQueue, JSON.stringify({ task: 'echo fresh', chan: 'fresh', id: 'fresh-1' }));
    await settled();
    assert.deepEqual(await redis.client.lrange(broker.keys.channel('fresh').queued, 0, -1), ['fresh-1']);
    assert.equal((await broker.deadLetters.list(0, 10)).total, 0);
  });

  test('a burst larger than one batch reaches the channel whole', async () => {
    const entries = Array.from({ length: 600 }, (_, i) => JSON.stringify({ task: `echo ${i}`, id: `burst-${i}` }));
    await redis.client.lpush(broker.keys.prepareQueue, ...entries);
    await settled();
    const ids = new Set(await queued());
    assert.equal(entries.filter((_, i) => ids.has(`burst-${i}`)).length, 600);
    assert.equal((await broker.deadLetters.list(0, 10)).total, 0);
  });
});
