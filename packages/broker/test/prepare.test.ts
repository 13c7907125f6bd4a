import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { resolveServerOptions } from '@coyotes/protocol';
import { Broker } from '../src/index.js';
import { freePort } from '../../../test/helpers/ports.js';
import { brokerHarness } from './harness.js';

const h = brokerHarness();

test('ingress entries go in flight oldest first, and a dead node’s in-flight entries come back in order', async () => {
  const b = h.broker();
  for (const n of [1, 2, 3, 4]) await h.redis.lpush(b.keys.prepareQueue, `e${n}`);
  assert.deepEqual(await b.prepare.claim('node-a', 3), ['e1', 'e2', 'e3']);
  assert.equal(await h.redis.llen(b.keys.prepareInFlight('node-a')), 3);
  // node-a dies here, before enqueuing: nothing is lost
  assert.equal(await b.prepare.recover('node-a'), 3);
  assert.deepEqual(await b.prepare.claim('node-b', 10), ['e1', 'e2', 'e3', 'e4']);
  await b.prepare.release('node-b');
  assert.equal(await h.redis.exists(b.keys.prepareInFlight('node-b')), 0);
});

test('the in-flight list shares the ingress list’s cluster slot', async () => {
  const b = h.broker({ prepareQueueKey: 'task:prepare:queue' });
  const slot = async (key: string) => Number(await h.redis.call('CLUSTER', 'KEYSLOT', key).catch(() => -1));
  // CLUSTER KEYSLOT works on a non-cluster server too
  assert.equal(await slot(b.keys.prepareInFlight('n1')), await slot('task:prepare:queue'));
  const k = b.keys.channel('biz');
  const slots = new Set(await Promise.all(Object.values(k).map(slot)));
  assert.equal(slots.size, 1, 'every key of a channel is in one slot');
});

test('dead letters keep the reason and payload, newest first', async () => {
  const b = h.broker();
  await b.deadLetters.add({ reason: 'not valid JSON', payload: '{oops', at: 1, nodeId: 'n' });
  await b.deadLetters.add({ reason: 'unknown channel "x"', payload: '{"task":"a","chan":"x"}', at: 2, nodeId: 'n' });
  const { total, items } = await b.deadLetters.list(0, 10);
  assert.equal(total, 2);
  assert.deepEqual(
    items.map((i) => i.reason),
    ['unknown channel "x"', 'not valid JSON'],
  );
});

test('Redis down at start: the broker keeps reconnecting with backoff and is ready once Redis comes up', async () => {
  const port = await freePort();
  const retries: number[] = [];
  const broker = Broker.connect(resolveServerOptions({ redis: { host: '127.0.0.1', port, db: 0 } }), {
    name: 'late',
    onRetry: (attempt) => retries.push(attempt),
  });
  let ready = false;
  const readiness = broker.ready().then(() => (ready = true));
  while (retries.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(ready, false);
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  try {
    await readiness;
    assert.equal(ready, true);
    assert.ok(retries.length >= 3);
  } finally {
    await broker.close();
    server.kill('SIGTERM');
  }
});
