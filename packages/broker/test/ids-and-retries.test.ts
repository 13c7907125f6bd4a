import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { brokerHarness, spec, taskResult } from './harness.js';

const h = brokerHarness();

const failing = { success: false, retryAllowed: true, maxRetries: 0 };

describe('distinct channels: a retry never runs beside an identical live task', () => {
  test('retrying a failed task is refused while an identical command line is queued; accepted once it finished', async () => {
    const b = h.broker();
    const first = spec('d', 'php artisan report');
    await b.tasks.enqueue(first, { distinct: true });
    const [claimed] = await b.tasks.claim('d', 1, 'n', 30_000);
    assert.equal(await b.tasks.complete(claimed!, taskResult(1), failing), 'failed');
    const second = spec('d', 'php artisan report');
    assert.equal(await b.tasks.enqueue(second, { distinct: true }), 'queued', 'the failure released the marker');
    await assert.rejects(b.tasks.retryFailed('d', first.id), { code: 'COY_ERR_TASK_DUPLICATE' });
    assert.equal((await b.queries.get('d', first.id))?.state, 'failed', 'left in the failed list');
    const running = await b.tasks.claim('d', 5, 'n', 30_000);
    assert.deepEqual(
      running.map((task) => task.spec.id),
      [second.id],
      'only the identical task runs',
    );
    await assert.rejects(b.tasks.retryFailed('d', first.id), { code: 'COY_ERR_TASK_DUPLICATE' }, 'nor while it runs');
    await b.tasks.complete(running[0]!, taskResult(0), { ...failing, success: true });
    await b.tasks.retryFailed('d', first.id);
    assert.equal((await b.queries.get('d', first.id))?.state, 'queued');
  });
});

describe('producer ids are unique across channels', () => {
  test('an id accepted in one channel is refused in another; lookups find the one task', async () => {
    const b = h.broker();
    const task = spec('alpha', 'echo a', { id: 'order-7' });
    assert.equal(await b.tasks.enqueue(task, { distinct: false }, true), 'queued');
    await assert.rejects(b.tasks.enqueue({ ...task, channel: 'beta', name: 'echo b' }, { distinct: false }, true), (error: Error) => {
      assert.equal((error as { code?: string }).code, 'COY_ERR_TASK_ID_EXISTS');
      assert.match(error.message, /channel alpha/);
      return true;
    });
    assert.equal(await h.redis.hexists(b.keys.channel('beta').tasks, 'order-7'), 0, 'nothing stored in beta');
    const found = await b.queries.locate(['beta', 'alpha'], 'order-7');
    assert.equal(found?.spec.channel, 'alpha');
    // the same channel answers as before: the id is taken there
    await assert.rejects(b.tasks.enqueue({ ...task }, { distinct: false }, true), { code: 'COY_ERR_TASK_ID_EXISTS' });
    assert.equal(await h.redis.get(b.keys.producerId('order-7')), 'alpha', 'the refused push left the index alone');
  });

  test('an index entry whose task is gone is taken over; a push the channel refuses gives its claim back', async () => {
    const b = h.broker();
    const task = spec('alpha', 'echo a', { id: 'order-8' });
    await b.tasks.enqueue(task, { distinct: false }, true);
    // what retention does to an old record (or a push that died half-way): the task is gone
    await h.redis.hdel(b.keys.channel('alpha').tasks, 'order-8');
    assert.equal(await b.tasks.enqueue({ ...task, channel: 'beta' }, { distinct: false }, true), 'queued');
    assert.equal(await h.redis.get(b.keys.producerId('order-8')), 'beta');

    // a distinct channel refuses the command line: the id is not kept for it
    await b.tasks.enqueue(spec('gamma', 'same line'), { distinct: true });
    assert.equal(await b.tasks.enqueue(spec('gamma', 'same line', { id: 'order-9' }), { distinct: true }, true), 'duplicate');
    assert.equal(await h.redis.get(b.keys.producerId('order-9')), null);
    assert.equal(await b.tasks.enqueue(spec('delta', 'other', { id: 'order-9' }), { distinct: false }, true), 'queued');
  });

  test('the same id pushed at once into two channels: one task, never one in each', async () => {
    // two connections on the same keys: as two api processes (or an api process and master's ingress)
    const one = h.broker({ keyPrefix: 'race', prepareQueueKey: 'race:prepare' });
    const other = h.broker({ keyPrefix: 'race', prepareQueueKey: 'race:prepare' });
    for (let round = 0; round < 20; round += 1) {
      const id = `race-${round}`;
      const outcomes = await Promise.allSettled([
        one.tasks.enqueue(spec('alpha', 'echo a', { id }), { distinct: false }, true),
        other.tasks.enqueue(spec('beta', 'echo b', { id }), { distinct: false }, true),
      ]);
      const held = await Promise.all(['alpha', 'beta'].map((name) => h.redis.hexists(one.keys.channel(name).tasks, id)));
      assert.equal(held[0]! + held[1]!, 1, `round ${round}: ${JSON.stringify(outcomes.map((o) => o.status))}, held ${held}`);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, `round ${round}`);
      assert.ok((await h.redis.pttl(one.keys.producerId(id))) > 60_000, 'the accepted task keeps its id past the pending claim');
    }
    // a push that died between its claim and its channel: the id waits for the claim to expire
    await h.redis.set(one.keys.producerId('race-died'), 'alpha', 'PX', 60_000);
    await assert.rejects(one.tasks.enqueue(spec('beta', 'echo b', { id: 'race-died' }), { distinct: false }, true), {
      code: 'COY_ERR_TASK_ID_EXISTS',
      message: 'task id race-died is being pushed in channel alpha',
    });
  });

  test('the same id twice in one batch: one task, and the index keeps it', async () => {
    const b = h.broker();
    const one = spec('alpha', 'first', { id: 'order-10' });
    const two = spec('alpha', 'second', { id: 'order-10' });
    const outcomes = await b.tasks.enqueueMany('alpha', [one, two], { distinct: false }, new Set(['order-10']));
    assert.equal(outcomes.filter((outcome) => outcome === 'queued').length, 1);
    assert.equal(await h.redis.get(b.keys.producerId('order-10')), 'alpha');
  });
});
