import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { brokerHarness, spec, taskResult } from './harness.js';

const h = brokerHarness();

describe('hand-off: a push to an idle claimer comes leased', () => {
  test('a claimer that found nothing and waits is handed the next push, leased, without a wake-up marker', async () => {
    const b = h.broker();
    const k = b.keys.channel('ho');
    assert.deepEqual(await b.tasks.claim('ho', 4, 'node:1', 30_000, 0, { willWait: true }), []);
    assert.equal(await h.redis.get(k.waiting), '1');
    const task = spec('ho', 'pushed');
    const blocking = b.blockingReads();
    try {
      const waited = blocking.waitForTask('ho', 5);
      assert.equal(await b.tasks.enqueue(task, { distinct: false }), 'queued');
      const handed = await waited;
      assert.ok(handed !== null && handed !== 'woken', 'a task, not a bare wake-up');
      assert.equal(handed.spec.id, task.id);
      assert.equal(handed.spec.name, 'pushed');
      assert.equal(await h.redis.hget(k.running, task.id), handed.token);
      assert.equal(await h.redis.zcard(k.leases), 1);
      assert.equal(await h.redis.llen(k.marker), 0);
      assert.equal(await h.redis.get(k.waiting), '0');
      assert.equal((await b.queries.get('ho', task.id))?.state, 'running');
      assert.equal(await b.tasks.complete(handed, taskResult(0), { success: true, retryAllowed: true, maxRetries: 0 }), 'succeeded');
    } finally {
      blocking.close();
    }
  });

  test('with no claimer waiting a push wakes the marker and is left queued', async () => {
    const b = h.broker();
    const k = b.keys.channel('hq');
    await b.tasks.enqueue(spec('hq', 'alone'), { distinct: false });
    assert.equal(await h.redis.llen(k.handoff), 0);
    assert.equal(await h.redis.llen(k.marker), 1);
    assert.equal(await h.redis.llen(k.queued), 1);
  });

  test('a handed task no claimer took is claimed first, under its token; a claimer that woke without one is uncounted', async () => {
    const b = h.broker();
    const k = b.keys.channel('hl');
    assert.deepEqual(await b.tasks.claim('hl', 1, 'node:1', 30_000, 0, { willWait: true }), []);
    const first = spec('hl', 'first');
    const second = spec('hl', 'second');
    await b.tasks.enqueue(first, { distinct: false });
    await b.tasks.enqueue(second, { distinct: false });
    const token = await h.redis.hget(k.running, first.id);
    assert.ok(token, 'the first push was leased for the waiting claimer');
    // the claimer woke another way (its timeout) and claims: the handed task first, then the queue
    const claimed = await b.tasks.claim('hl', 2, 'node:1', 30_000, 0, { woke: true });
    assert.deepEqual(
      claimed.map((task) => [task.spec.id, task.token === token]),
      [
        [first.id, true],
        [second.id, false],
      ],
    );
    assert.equal(await h.redis.get(k.waiting), '0');
    assert.equal(await h.redis.llen(k.handoff), 0);
  });

  test('a handed task whose lease lapsed and was requeued runs once: its hand-off entry is dropped', async () => {
    const b = h.broker({ leaseMs: 1000 });
    const k = b.keys.channel('hx');
    assert.deepEqual(await b.tasks.claim('hx', 1, 'node:1', 30_000, 0, { willWait: true }), []);
    const task = spec('hx', 'lapsing');
    await b.tasks.enqueue(task, { distinct: false });
    assert.equal(await h.redis.llen(k.handoff), 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await b.tasks.requeueExpired('hx')).requeued, 1);
    const claimed = await b.tasks.claim('hx', 5, 'node:2', 30_000);
    assert.deepEqual(
      claimed.map((c) => c.spec.id),
      [task.id],
      'claimed once, from the queue',
    );
    assert.match(claimed[0]!.token, /^node:2:/);
    assert.equal(await h.redis.llen(k.handoff), 0);
  });

  test('a paused channel hands nothing over', async () => {
    const b = h.broker();
    const k = b.keys.channel('hp');
    const config = { name: 'hp', workers: 2, distinct: false, paused: false, maxRetries: 0, timeoutMs: 0, shell: false };
    await b.channels.put(config);
    assert.deepEqual(await b.tasks.claim('hp', 1, 'node:1', 30_000, 0, { willWait: true }), []);
    await b.channels.put({ ...config, paused: true });
    await b.tasks.enqueue(spec('hp', 'held'), { distinct: false });
    assert.equal(await h.redis.llen(k.handoff), 0);
    assert.equal(await h.redis.hlen(k.running), 0);
    assert.equal(await h.redis.llen(k.queued), 1);
  });
});
