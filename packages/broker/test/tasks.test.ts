import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { brokerHarness, serverHolding, spec, taskResult } from './harness.js';

const h = brokerHarness();

const result = taskResult;
const ok = { success: true, retryAllowed: true, maxRetries: 0 };
const fail = (maxRetries = 0) => ({ success: false, retryAllowed: true, maxRetries });

describe('queue, claim, complete', () => {
  test('a task is queued, claimed with a lease, and its result recorded', async () => {
    const b = h.broker();
    const task = spec('c', 'echo hi');
    assert.equal(await b.tasks.enqueue(task, { distinct: false }), 'queued');
    assert.equal((await b.queries.get('c', task.id))?.state, 'queued');
    const [claimed, ...rest] = await b.tasks.claim('c', 5, 'node:1', 30_000);
    assert.equal(rest.length, 0);
    assert.equal(claimed!.spec.id, task.id);
    assert.equal((await b.queries.get('c', task.id))?.state, 'running');
    assert.equal(await h.redis.zcard(b.keys.channel('c').leases), 1);
    assert.equal(await b.tasks.complete(claimed!, result(0), ok), 'succeeded');
    const view = await b.queries.get('c', task.id);
    assert.equal(view?.state, 'succeeded');
    assert.equal(view?.result?.stdoutTail, 'out');
    assert.equal(await h.redis.zcard(b.keys.channel('c').leases), 0);
    assert.deepEqual(await b.queries.counts('c'), { queued: 0, running: 0, delayed: 0, failed: 0, done: 1, cancelled: 0 });
  });

  test('a paused channel gives no task to any claimer until it is resumed', async () => {
    const b = h.broker();
    await b.channels.put({ name: 'pz', workers: 2, distinct: false, paused: false, maxRetries: 0, timeoutMs: 0, shell: false });
    await b.tasks.enqueue(spec('pz', 'a'), { distinct: false });
    await b.channels.put({ name: 'pz', workers: 2, distinct: false, paused: true, maxRetries: 0, timeoutMs: 0, shell: false });
    assert.deepEqual(await b.tasks.claim('pz', 2, 'n', 30_000), []);
    await b.channels.put({ name: 'pz', workers: 2, distinct: false, paused: false, maxRetries: 0, timeoutMs: 0, shell: false });
    assert.equal((await b.tasks.claim('pz', 2, 'n', 30_000)).length, 1);
  });

  test('claims come out in push order and never more than asked', async () => {
    const b = h.broker();
    const tasks = [1, 2, 3, 4].map((i) => spec('c', `t${i}`));
    for (const t of tasks) await b.tasks.enqueue(t, { distinct: false });
    const first = await b.tasks.claim('c', 3, 'n', 30_000);
    assert.deepEqual(
      first.map((c) => c.spec.name),
      ['t1', 't2', 't3'],
    );
    assert.deepEqual(
      (await b.tasks.claim('c', 3, 'n', 30_000)).map((c) => c.spec.name),
      ['t4'],
    );
    assert.deepEqual(await b.tasks.claim('c', 3, 'n', 30_000), []);
  });

  test('a batch is accepted in one call, each task with its own outcome', async () => {
    const b = h.broker();
    const batch = [
      spec('c', 'a', { id: 'same' }),
      spec('c', 'b', { id: 'same' }),
      spec('c', 'later', { executeAt: Date.now() + 60_000 }),
      spec('c', 'a'),
    ];
    const outcomes = await b.tasks.enqueueMany('c', batch, { distinct: true });
    assert.deepEqual(outcomes.slice(0, 1).concat(outcomes.slice(2)), ['queued', 'delayed', 'duplicate']);
    assert.equal((outcomes[1] as { code?: string }).code, 'COY_ERR_TASK_ID_EXISTS');
    assert.deepEqual(await b.queries.counts('c'), { queued: 1, running: 0, delayed: 1, failed: 0, done: 0, cancelled: 0 });
    assert.equal(await h.redis.hget(b.keys.channel('c').stats, 'accepted'), '2');
  });

  test('a producer-chosen id is accepted once', async () => {
    const b = h.broker();
    const task = spec('c', 'x', { id: 'fixed-id' });
    await b.tasks.enqueue(task, { distinct: false });
    await assert.rejects(b.tasks.enqueue(task, { distinct: false }), { code: 'COY_ERR_TASK_ID_EXISTS' });
  });

  test('a result from a runner whose lease was taken over is not recorded', async () => {
    const b = h.broker();
    const task = spec('c', 'x');
    await b.tasks.enqueue(task, { distinct: false });
    const [stale] = await b.tasks.claim('c', 1, 'old', 1000);
    await h.redis.zadd(b.keys.channel('c').leases, 0, task.id); // lapse it
    assert.deepEqual(await b.tasks.requeueExpired('c'), { requeued: 1, poisoned: 0 });
    const [fresh] = await b.tasks.claim('c', 1, 'new', 30_000);
    assert.deepEqual(await b.tasks.extendLeases('c', [stale!], 30_000), [task.id]);
    assert.equal(await b.tasks.complete(stale!, result(1), fail()), 'lease-lost');
    assert.equal((await b.queries.get('c', task.id))?.state, 'running');
    assert.equal(await b.tasks.complete(fresh!, result(0), ok), 'succeeded');
  });

  test('the result closes the log stream of a task that printed, and leaves none for a silent one', async () => {
    const b = h.broker();
    const [printing, silent] = [spec('c', 'echo hi'), spec('c', 'true')];
    await b.tasks.enqueueMany('c', [printing, silent], { distinct: false });
    const claimed = await b.tasks.claim('c', 2, 'node:1', 30_000);
    await b.logs.append(printing, [{ stream: 'stdout', data: 'hi' }]);
    for (const task of claimed) assert.equal(await b.tasks.complete(task, { ...result(0), durationMs: 700 }, ok), 'succeeded');
    const records = await b.logs.read('c', printing.id, '0');
    assert.deepEqual(
      records.map((r) => [r.stream, r.data, r.outcome, r.exitCode]),
      [
        ['stdout', 'hi', undefined, undefined],
        ['done', '', 'exited', 0],
      ],
    );
    assert.equal(await h.redis.exists(b.keys.taskLog('c', silent.id)), 0);
    const histogram = await b.logs.durations('c');
    assert.equal(histogram.count, 2);
    assert.equal(histogram.sumMs, 1400);
    assert.equal(histogram.buckets.get('1'), 2);
  });
});

describe('distinct channels', () => {
  test('a command line already queued or running is refused, then accepted once it finished', async () => {
    const b = h.broker();
    assert.equal(await b.tasks.enqueue(spec('d', 'php artisan x'), { distinct: true }), 'queued');
    assert.equal(await b.tasks.enqueue(spec('d', 'php artisan x'), { distinct: true }), 'duplicate');
    assert.equal(await b.tasks.enqueue(spec('d', 'php artisan y'), { distinct: true }), 'queued');
    const claimed = await b.tasks.claim('d', 2, 'n', 30_000);
    assert.equal(await b.tasks.enqueue(spec('d', 'php artisan x'), { distinct: true }), 'duplicate', 'still running');
    await b.tasks.complete(claimed[0]!, result(0), ok);
    await b.tasks.complete(claimed[1]!, result(3), fail());
    assert.equal(await b.tasks.enqueue(spec('d', 'php artisan x'), { distinct: true }), 'queued', 'released after success');
    assert.equal(await b.tasks.enqueue(spec('d', 'php artisan y'), { distinct: true }), 'queued', 'released after failure');
  });

  test('the marker is kept while a failed task waits to retry, and released by cancel', async () => {
    const b = h.broker();
    await b.tasks.enqueue(spec('d', 'job'), { distinct: true });
    const [claimed] = await b.tasks.claim('d', 1, 'n', 30_000);
    assert.equal(await b.tasks.complete(claimed!, result(1), fail(1)), 'retry-scheduled');
    assert.equal(await b.tasks.enqueue(spec('d', 'job'), { distinct: true }), 'duplicate');
    await b.tasks.cancel('d', claimed!.spec.id);
    assert.equal(await b.tasks.enqueue(spec('d', 'job'), { distinct: true }), 'queued');
  });

  test('the marker lapses after its TTL (safety net)', async () => {
    const b = h.broker({ distinctTtlMs: 50 });
    await b.tasks.enqueue(spec('d', 'job'), { distinct: true });
    const deadline = Date.now() + 60;
    while (Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(await b.tasks.enqueue(spec('d', 'job'), { distinct: true }), 'queued');
  });

  test('non-distinct channels accept duplicates', async () => {
    const b = h.broker();
    assert.equal(await b.tasks.enqueue(spec('n', 'same'), { distinct: false }), 'queued');
    assert.equal(await b.tasks.enqueue(spec('n', 'same'), { distinct: false }), 'queued');
  });
});

describe('failure, retry, failed list', () => {
  test('failures retry with exponential backoff up to max_retries, then park in the failed list', async () => {
    const b = h.broker({ retryBackoffMs: 1000 });
    const task = spec('f', 'false');
    await b.tasks.enqueue(task, { distinct: false });
    const k = b.keys.channel('f');
    for (const backoff of [1000, 2000]) {
      await h.redis.zremrangebyrank(k.delayed, 0, -1);
      await h.redis.lpush(k.queued, task.id);
      const [claimed] = await b.tasks.claim('f', 1, 'n', 30_000);
      const before = Date.now();
      assert.equal(await b.tasks.complete(claimed!, result(1), fail(2)), 'retry-scheduled');
      const due = Number(await h.redis.zscore(k.delayed, task.id));
      assert.ok(due >= before + backoff && due <= Date.now() + backoff, `backoff ${backoff}`);
    }
    await h.redis.zremrangebyrank(k.delayed, 0, -1);
    await h.redis.lpush(k.queued, task.id);
    const [last] = await b.tasks.claim('f', 1, 'n', 30_000);
    assert.equal(await b.tasks.complete(last!, result(1), fail(2)), 'failed');
    const view = await b.queries.get('f', task.id);
    assert.equal(view?.state, 'failed');
    assert.equal(view?.retries, 2, 'two re-runs; the last failure is not a retry');
    assert.ok(view?.failedAt && view.failedAt <= Date.now());
  });

  test('a killed task is not retried', async () => {
    const b = h.broker();
    await b.tasks.enqueue(spec('f', 'sleep 9'), { distinct: false });
    const [claimed] = await b.tasks.claim('f', 1, 'n', 30_000);
    assert.equal(await b.tasks.complete(claimed!, result(0, 'killed'), { success: false, retryAllowed: false, maxRetries: 5 }), 'failed');
  });

  test('a failed task can be retried (fresh counts) or deleted', async () => {
    const b = h.broker();
    const [one, two] = [spec('f', 'a'), spec('f', 'b')];
    for (const t of [one, two]) await b.tasks.enqueue(t, { distinct: false });
    for (const c of await b.tasks.claim('f', 2, 'n', 30_000)) await b.tasks.complete(c, result(1), fail());
    const retriedBefore = (await b.queries.stats('f')).retried ?? 0;
    await b.tasks.retryFailed('f', one.id);
    // coyotes_tasks_retried_total counts a manual retry too
    assert.equal((await b.queries.stats('f')).retried, retriedBefore + 1);
    const view = await b.queries.get('f', one.id);
    assert.equal(view?.state, 'queued');
    assert.equal(view?.retries, 1, 'the manual retry is a re-run');
    await b.tasks.deleteFailed('f', two.id);
    assert.equal(await b.queries.get('f', two.id), null);
    await assert.rejects(b.tasks.retryFailed('f', two.id), { code: 'COY_ERR_TASK_NOT_FAILED' });
  });
});

describe('retry counts', () => {
  test('retry_count counts re-runs, automatic and manual; a manual retry gives max_retries afresh', async () => {
    const b = h.broker({ retryBackoffMs: 1 });
    const task = spec('r', 'false');
    await b.tasks.enqueue(task, { distinct: false });
    const k = b.keys.channel('r');
    const runOnce = async (): Promise<string> => {
      await h.redis.zremrangebyrank(k.delayed, 0, -1);
      const [claimed] = await b.tasks.claim('r', 1, 'n', 30_000);
      return b.tasks.complete(claimed!, result(1), fail(1));
    };
    assert.equal(await runOnce(), 'retry-scheduled');
    await h.redis.lpush(k.queued, task.id);
    assert.equal(await runOnce(), 'failed');
    assert.equal((await b.queries.get('r', task.id))?.retries, 1);
    await b.tasks.retryFailed('r', task.id);
    assert.equal((await b.queries.get('r', task.id))?.retries, 2);
    assert.equal(await runOnce(), 'retry-scheduled', 'a fresh allowance of one automatic retry');
    await h.redis.lpush(k.queued, task.id);
    assert.equal(await runOnce(), 'failed');
    assert.equal((await b.queries.get('r', task.id))?.retries, 3);
  });

  test('a count written by an older version (failures, a bare number) still reads and limits', async () => {
    const b = h.broker();
    const task = spec('r', 'false');
    await b.tasks.enqueue(task, { distinct: false });
    await h.redis.hset(b.keys.channel('r').retries, task.id, '2');
    assert.equal((await b.queries.get('r', task.id))?.retries, 2);
    const [claimed] = await b.tasks.claim('r', 1, 'n', 30_000);
    assert.equal(await b.tasks.complete(claimed!, result(1), fail(2)), 'failed');
  });
});

describe('leases and crashes', () => {
  test('a task whose lease lapsed is not shown running: its runner is gone', async () => {
    const b = h.broker();
    const [first, second] = [spec('v', 'a'), spec('v', 'b')];
    for (const t of [first, second]) await b.tasks.enqueue(t, { distinct: false });
    await b.tasks.claim('v', 2, 'n', 30_000);
    await h.redis.zadd(b.keys.channel('v').leases, Date.now() - 1, first.id);
    const view = await b.queries.get('v', first.id);
    assert.equal(view?.state, 'queued');
    assert.equal(view?.runningSince, null);
    assert.equal((await b.queries.get('v', second.id))?.state, 'running');
    assert.deepEqual(
      (await b.queries.listRunning('v')).map((s) => s.id),
      [second.id],
    );
    assert.deepEqual(await b.queries.counts('v'), { queued: 1, running: 1, delayed: 0, failed: 0, done: 0, cancelled: 0 });
  });

  test('an unreadable stored task is claimed apart from the others, which claim as usual', async () => {
    const b = h.broker();
    const [before, after] = [spec('u', 'a'), spec('u', 'b')];
    await b.tasks.enqueue(before, { distinct: false });
    const k = b.keys.channel('u');
    await h.redis.hset(k.tasks, 'broken', '{"name": "echo');
    await h.redis.lpush(k.queued, 'broken');
    await b.tasks.enqueue(after, { distinct: false });
    const claimed = await b.tasks.claim('u', 3, 'n', 30_000);
    assert.deepEqual(
      claimed.map((c) => [c.spec.id, c.unreadable === undefined]),
      [
        [before.id, true],
        ['broken', false],
        [after.id, true],
      ],
    );
    assert.match(claimed[1]!.unreadable!, /not valid JSON/);
    assert.equal((await b.queries.get('u', 'broken'))?.spec.name, '(unreadable task entry)');
  });

  test('a lapsed lease charges no crash; only a task charged with a runner death counts one', async () => {
    const b = h.broker({ poisonLimit: 1 });
    const [bystander, suspect] = [spec('q', 'sleep 60'), spec('q', 'bad')];
    for (const t of [bystander, suspect]) await b.tasks.enqueue(t, { distinct: false });
    let claimed = await b.tasks.claim('q', 2, 'n', 30_000);
    await h.redis.zadd(b.keys.channel('q').leases, Date.now() - 1, bystander.id);
    assert.deepEqual(await b.tasks.requeueExpired('q'), { requeued: 1, poisoned: 0 }, "a host death is no task's doing");
    const token = (id: string) => claimed.find((c) => c.spec.id === id)!.token;
    claimed = [...claimed, ...(await b.tasks.claim('q', 1, 'n', 30_000))];
    const outcome = await b.tasks.requeue('q', [
      { id: bystander.id, token: claimed[claimed.length - 1]!.token, charged: false },
      { id: suspect.id, token: token(suspect.id), charged: true },
    ]);
    assert.deepEqual(outcome, { requeued: 1, poisoned: 1 });
    assert.equal((await b.queries.get('q', bystander.id))?.state, 'queued');
    assert.equal((await b.queries.get('q', suspect.id))?.result?.outcome, 'poison');
    assert.equal(await h.redis.hget(b.keys.channel('q').crashes, bystander.id), null);
  });

  test('lapsed leases return tasks to the front of the queue without consuming retries', async () => {
    const b = h.broker();
    const [first, second] = [spec('l', 'a'), spec('l', 'b')];
    await b.tasks.enqueue(first, { distinct: false });
    const [claimed] = await b.tasks.claim('l', 1, 'n', 1000);
    await b.tasks.enqueue(second, { distinct: false });
    assert.deepEqual(await b.tasks.requeueExpired('l'), { requeued: 0, poisoned: 0 }, 'not lapsed yet');
    await h.redis.zadd(b.keys.channel('l').leases, Date.now() - 1, claimed!.spec.id);
    assert.deepEqual(await b.tasks.requeueExpired('l'), { requeued: 1, poisoned: 0 });
    const next = await b.tasks.claim('l', 2, 'n', 1000);
    assert.deepEqual(
      next.map((c) => c.spec.name),
      ['a', 'b'],
      'the recovered task runs first',
    );
    assert.equal((await b.queries.get('l', first.id))?.retries, 0);
  });

  test('renewed leases do not lapse', async () => {
    const b = h.broker();
    await b.tasks.enqueue(spec('l', 'a'), { distinct: false });
    const claimed = await b.tasks.claim('l', 1, 'n', 1000);
    await h.redis.zadd(b.keys.channel('l').leases, Date.now() - 1, claimed[0]!.spec.id);
    assert.deepEqual(await b.tasks.extendLeases('l', claimed, 60_000), []);
    assert.deepEqual(await b.tasks.requeueExpired('l'), { requeued: 0, poisoned: 0 });
  });

  test('a task whose runner dies poison-limit times is parked as poison, with its distinct marker released', async () => {
    const b = h.broker({ poisonLimit: 2 });
    const task = spec('p', 'kill -9 $PPID');
    await b.tasks.enqueue(task, { distinct: true });
    let [claimed] = await b.tasks.claim('p', 1, 'n', 30_000);
    assert.deepEqual(await b.tasks.requeue('p', [{ id: task.id, token: claimed!.token, charged: true }]), { requeued: 1, poisoned: 0 });
    [claimed] = await b.tasks.claim('p', 1, 'n', 30_000);
    assert.deepEqual(await b.tasks.requeue('p', [{ id: task.id, token: claimed!.token, charged: true }]), { requeued: 0, poisoned: 1 });
    const view = await b.queries.get('p', task.id);
    assert.equal(view?.state, 'failed');
    assert.equal(view?.result?.outcome, 'poison');
    assert.match(view?.result?.error ?? '', /runner died 2 times because of this task/);
    assert.equal(await b.tasks.enqueue(spec('p', 'kill -9 $PPID'), { distinct: true }), 'queued');
  });

  test('a forced stop requeues without counting a crash, and a stale token requeues nothing', async () => {
    const b = h.broker({ poisonLimit: 1 });
    const task = spec('p', 'x');
    await b.tasks.enqueue(task, { distinct: false });
    const [claimed] = await b.tasks.claim('p', 1, 'n', 30_000);
    assert.deepEqual(await b.tasks.requeue('p', [{ id: task.id, token: 'not-mine', charged: true }]), { requeued: 0, poisoned: 0 });
    assert.deepEqual(await b.tasks.requeue('p', [{ id: task.id, token: claimed!.token, charged: false }]), { requeued: 1, poisoned: 0 });
    assert.equal((await b.queries.get('p', task.id))?.state, 'queued');
  });
});

describe('delays and cancel', () => {
  test('a delayed task is promoted when due, not before', async () => {
    const b = h.broker();
    // due far ahead, so no slow machine makes it due early; then its due time is moved to now
    const task = spec('t', 'later', { executeAt: Date.now() + 60_000 });
    assert.equal(await b.tasks.enqueue(task, { distinct: false }), 'delayed');
    const early = await b.tasks.promoteDue('t');
    assert.equal(early.moved, 0);
    assert.equal(early.nextDueMs, task.executeAt);
    assert.equal((await b.queries.get('t', task.id))?.state, 'delayed');
    await h.redis.zadd(b.keys.channel('t').delayed, Date.now() - 1, task.id);
    assert.deepEqual(await b.tasks.promoteDue('t'), { moved: 1, nextDueMs: null, missed: 0 });
    assert.equal((await b.queries.get('t', task.id))?.state, 'queued');
  });

  test('cancel: queued and delayed tasks are cancelled, running ones are reported for a kill, finished ones refused', async () => {
    const b = h.broker();
    const [queued, delayed, running] = [spec('x', 'q'), spec('x', 'd', { executeAt: Date.now() + 60_000 }), spec('x', 'r')];
    await b.tasks.enqueue(running, { distinct: false });
    const [claimed] = await b.tasks.claim('x', 1, 'n', 30_000);
    await b.tasks.enqueue(queued, { distinct: false });
    await b.tasks.enqueue(delayed, { distinct: false });
    assert.equal(await b.tasks.cancel('x', queued.id), 'cancelled');
    assert.equal(await b.tasks.cancel('x', delayed.id), 'cancelled');
    assert.equal(await b.tasks.cancel('x', running.id), 'running');
    assert.deepEqual(await b.tasks.claim('x', 5, 'n', 30_000), [], 'the cancelled id left in the queue is skipped');
    assert.equal(await h.redis.zcard(b.keys.channel('x').delayed), 0);
    await b.tasks.complete(claimed!, result(0), ok);
    await assert.rejects(b.tasks.cancel('x', running.id), { code: 'COY_ERR_TASK_FINISHED' });
    await assert.rejects(b.tasks.cancel('x', 'nope'), { code: 'COY_ERR_TASK_NOT_FOUND' });
  });
});

describe('retention and cost', () => {
  test('finished results are bounded in count and age', async () => {
    const b = h.broker({ resultRetentionCount: 5, resultRetentionAgeMs: 60_000 });
    for (let i = 0; i < 12; i += 1) await b.tasks.enqueue(spec('r', `t${i}`), { distinct: false });
    for (const c of await b.tasks.claim('r', 12, 'n', 30_000)) await b.tasks.complete(c, result(0), ok);
    const k = b.keys.channel('r');
    assert.equal(await h.redis.zcard(k.done), 5);
    assert.equal(await h.redis.hlen(k.tasks), 5);
    assert.equal(await h.redis.hlen(k.results), 5);
    // age: make every entry old; the next completion drops them
    for (const id of await h.redis.zrange(k.done, 0, -1)) await h.redis.zadd(k.done, 1, id);
    await b.tasks.enqueue(spec('r', 'fresh'), { distinct: false });
    const [fresh] = await b.tasks.claim('r', 1, 'n', 30_000);
    await b.tasks.complete(fresh!, result(0), ok);
    assert.deepEqual(await h.redis.zrange(k.done, 0, -1), [fresh!.spec.id]);
  });

  test('claiming and completing costs the same Redis work at a queue depth of 10 and of 20,000', async () => {
    const commandsFor = async (depth: number): Promise<number> => {
      const b = h.broker();
      const k = b.keys.channel('deep');
      // warm the script cache of the server holding the channel so EVALSHA fallbacks are not counted
      assert.deepEqual(await b.tasks.claim('deep', 1, 'n', 30_000), []);
      assert.equal(await b.tasks.complete({ spec: spec('deep', 'warm'), token: 'none' }, result(0), ok), 'lease-lost');
      const pipeline = h.redis.pipeline();
      for (let i = 0; i < depth; i += 1) {
        pipeline.lpush(k.queued, `id${i}`);
        pipeline.hset(k.tasks, `id${i}`, JSON.stringify(spec('deep', `t${i}`, { id: `id${i}` })));
      }
      await pipeline.exec();
      const server = await serverHolding(h.redis, k.queued);
      const processed = () => server.commandsProcessed();
      const before = await processed();
      const [claimed] = await b.tasks.claim('deep', 1, 'n', 30_000);
      await b.tasks.complete(claimed!, result(0), ok);
      const after = await processed();
      assert.equal(claimed!.spec.id, 'id0');
      return after - before;
    };
    const shallow = await commandsFor(10);
    const deep = await commandsFor(20_000);
    assert.equal(deep, shallow, `commands at depth 20,000 (${deep}) vs 10 (${shallow})`);
  });
});
