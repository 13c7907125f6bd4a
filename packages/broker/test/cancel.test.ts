import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Broker } from '../src/index.js';
import { brokerHarness, spec, taskResult } from './harness.js';

const h = brokerHarness();

/** Accepts `count` tasks into a channel and cancels every one of them while queued. */
async function cancelQueued(b: Broker, channel: string, count: number): Promise<void> {
  const batch = 500;
  for (let from = 0; from < count; from += batch) {
    const specs = Array.from({ length: Math.min(batch, count - from) }, (_v, i) => spec(channel, `t${from + i}`));
    await b.tasks.enqueueMany(channel, specs, { distinct: false });
    await Promise.all(specs.map((s) => b.tasks.cancel(channel, s.id)));
  }
}

describe('cancelled tasks', () => {
  test('a cancelled task keeps a record: state cancelled, its id stays taken, not counted as queued', async () => {
    const b = h.broker();
    const task = spec('c', 'echo once', { id: 'order-1' });
    await b.tasks.enqueue(task, { distinct: false });
    const before = Date.now();
    assert.equal(await b.tasks.cancel('c', task.id), 'cancelled');
    const view = await b.queries.get('c', task.id);
    assert.equal(view?.state, 'cancelled');
    assert.ok(view.cancelledAt !== null && view.cancelledAt >= before, 'cancelled_at recorded');
    assert.equal(await b.tasks.cancel('c', task.id), 'cancelled', 'a second cancel changes nothing');
    await assert.rejects(b.tasks.enqueue({ ...task }, { distinct: false }), { code: 'COY_ERR_TASK_ID_EXISTS' });
    const counts = await b.queries.counts('c');
    assert.equal(counts.queued, 0);
    assert.equal(counts.cancelled, 1);
    assert.deepEqual(await b.queries.listQueued('c', { offset: 0, limit: 10 }), []);
    assert.deepEqual(await b.tasks.claim('c', 5, 'n', 30_000), []);
    assert.equal((await b.queries.stats('c')).cancelled, 1);
  });

  test('an id pushed again after its cancelled record was dropped runs once, whoever claims', async (t) => {
    const b = h.broker({ resultRetentionCount: 1 });
    const task = spec('c', 'echo once', { id: 'order-2' });
    await b.tasks.enqueue(task, { distinct: false });
    // both cancels in one millisecond, the newer id sorting first: a tie on score must still drop
    // the older record, not the one just added
    const frozen = Date.now();
    t.mock.method(Date, 'now', () => frozen);
    await b.tasks.cancel('c', task.id);
    // a second cancelled task pushes the first record out of retention (count 1)
    const other = spec('c', 'other', { id: 'a-other' });
    await b.tasks.enqueue(other, { distinct: false });
    await b.tasks.cancel('c', other.id);
    t.mock.restoreAll();
    assert.equal(await b.queries.get('c', task.id), null, 'record dropped by retention');
    assert.equal((await b.queries.get('c', other.id))?.state, 'cancelled', 'the newer record is kept');
    assert.equal(await b.tasks.enqueue({ ...task, name: 'echo again' }, { distinct: false }), 'queued');
    assert.equal((await b.queries.counts('c')).queued, 1);
    // two workers asking one task each: the stale entry must not give the id to the second
    const first = await b.tasks.claim('c', 1, 'w1', 30_000);
    const second = await b.tasks.claim('c', 1, 'w2', 30_000);
    const claimed = [...first, ...second];
    assert.equal(claimed.length, 1, `claimed ${claimed.length} times`);
    assert.equal(claimed[0]!.spec.name, 'echo again');
    assert.equal(await b.tasks.complete(claimed[0]!, taskResult(0), { success: true, retryAllowed: true, maxRetries: 0 }), 'succeeded');
    assert.deepEqual(await b.tasks.claim('c', 5, 'w1', 30_000), []);
    assert.equal((await b.queries.get('c', task.id))?.state, 'succeeded');
  });

  test('cancelled entries cost a later claim no wait: an empty claim that left entries behind wakes a claimer', async () => {
    const b = h.broker();
    const k = b.keys.channel('many');
    await cancelQueued(b, 'many', 20_000);
    const fresh = spec('many', 'fresh');
    await b.tasks.enqueue(fresh, { distinct: false });
    assert.equal((await b.queries.counts('many')).queued, 1, 'cancelled entries are not counted');
    await h.redis.del(k.marker);
    let claims = 0;
    let claimed: Awaited<ReturnType<typeof b.tasks.claim>> = [];
    while (claimed.length === 0 && claims < 100) {
      claimed = await b.tasks.claim('many', 1, 'n', 30_000);
      claims += 1;
      if (claimed.length === 0) {
        // the runner blocks on the marker list when a claim gives nothing: it must find a token
        assert.equal(await h.redis.rpop(k.marker), '1', `claim ${claims} gave nothing and left no wake-up`);
      }
    }
    assert.equal(claimed[0]?.spec.id, fresh.id);
    assert.ok(claims <= 21, `${claims} claims to reach the fresh task`);
    assert.equal(await h.redis.get(k.staleCount), '0');
    assert.equal(await h.redis.hlen(k.stale), 0);
  });
});
