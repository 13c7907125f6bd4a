import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { brokerHarness, serverHolding, spec, taskResult } from './harness.js';

const h = brokerHarness();

const ok = { success: true, retryAllowed: true, maxRetries: 0 };
const next = (max = 1, globalCap = 0) => ({ max, tokenPrefix: 'node:2', leaseMs: 30_000, globalCap });

describe('finish: a result and the next claim in one script', () => {
  test('records the result and leases the slot its next task, in one script call', async () => {
    const b = h.broker();
    const first = spec('fin', 'first');
    const second = spec('fin', 'second');
    await b.tasks.enqueue(first, { distinct: false });
    await b.tasks.enqueue(second, { distinct: false });
    const [claimed] = await b.tasks.claim('fin', 1, 'node:1', 30_000);
    const server = await serverHolding(h.redis, b.keys.channel('fin').queued);
    const before = await server.scriptCalls();
    const { outcome, claimed: successors } = await b.tasks.finish(claimed!, taskResult(0), ok, next());
    assert.equal((await server.scriptCalls()) - before, 1, 'one EVALSHA for the result and the claim');
    assert.equal(outcome, 'succeeded');
    assert.deepEqual(
      successors.map((task) => task.spec.id),
      [second.id],
    );
    assert.match(successors[0]!.token, /^node:2:\d+:1$/);
    assert.equal((await b.queries.get('fin', first.id))?.state, 'succeeded');
    assert.equal((await b.queries.get('fin', second.id))?.state, 'running');
    assert.equal(await h.redis.hget(b.keys.channel('fin').running, second.id), successors[0]!.token);
  });

  test('claims nothing when asked for none, when the queue is empty, or when the channel is paused', async () => {
    const b = h.broker();
    const config = { name: 'fp', workers: 2, distinct: false, paused: false, maxRetries: 0, timeoutMs: 0, shell: false };
    await b.channels.put(config);
    for (const name of ['a', 'b', 'c']) await b.tasks.enqueue(spec('fp', name), { distinct: false });
    const [a] = await b.tasks.claim('fp', 1, 'n', 30_000);
    const none = await b.tasks.finish(a!, taskResult(0), ok, next(0));
    assert.deepEqual([none.outcome, none.claimed], ['succeeded', []]);
    await b.channels.put({ ...config, paused: true });
    const [bTask] = await b.tasks.claim('fp', 1, 'n', 30_000).then(async (got) => {
      assert.deepEqual(got, [], 'paused: the plain claim gives nothing');
      await b.channels.put(config);
      return b.tasks.claim('fp', 1, 'n', 30_000);
    });
    await b.channels.put({ ...config, paused: true });
    const paused = await b.tasks.finish(bTask!, taskResult(0), ok, next(1));
    assert.deepEqual([paused.outcome, paused.claimed], ['succeeded', []]);
    await b.channels.put(config);
    const [c] = await b.tasks.claim('fp', 1, 'n', 30_000);
    const empty = await b.tasks.finish(c!, taskResult(0), ok, next(1));
    assert.deepEqual([empty.outcome, empty.claimed], ['succeeded', []]);
  });

  test('a lost lease records nothing but the slot still gets its next task', async () => {
    const b = h.broker();
    const lost = spec('fl', 'lost');
    const waiting = spec('fl', 'waiting');
    await b.tasks.enqueue(lost, { distinct: false });
    const [claimed] = await b.tasks.claim('fl', 1, 'n', 30_000);
    await b.tasks.enqueue(waiting, { distinct: false });
    const { outcome, claimed: successors } = await b.tasks.finish({ ...claimed!, token: 'someone-else' }, taskResult(0), ok, next());
    assert.equal(outcome, 'lease-lost');
    assert.equal((await b.queries.get('fl', lost.id))?.state, 'running');
    assert.deepEqual(
      successors.map((task) => task.spec.id),
      [waiting.id],
    );
  });

  test('a global cap counts the finished task out before claiming', async () => {
    const b = h.broker();
    for (const name of ['x', 'y']) await b.tasks.enqueue(spec('fg', name), { distinct: false });
    const [x] = await b.tasks.claim('fg', 1, 'n', 30_000, 1);
    assert.deepEqual(await b.tasks.claim('fg', 1, 'n', 30_000, 1), [], 'at the cap');
    const { claimed } = await b.tasks.finish(x!, taskResult(0), ok, next(1, 1));
    assert.equal(claimed.length, 1, 'the freed place goes to the finishing slot');
  });

  test('finishing costs the same Redis work at a queue depth of 10 and of 20,000', async () => {
    const commandsFor = async (depth: number): Promise<number> => {
      const b = h.broker();
      const k = b.keys.channel('fdeep');
      // warm the script cache of the server holding the channel so EVALSHA fallbacks are not counted
      assert.equal(
        (await b.tasks.finish({ spec: spec('fdeep', 'warm'), token: 'none' }, taskResult(0), ok, next(0))).outcome,
        'lease-lost',
      );
      const pipeline = h.redis.pipeline();
      for (let i = 0; i < depth; i += 1) {
        pipeline.lpush(k.queued, `id${i}`);
        pipeline.hset(k.tasks, `id${i}`, JSON.stringify(spec('fdeep', `t${i}`, { id: `id${i}` })));
      }
      await pipeline.exec();
      const [first] = await b.tasks.claim('fdeep', 1, 'n', 30_000);
      const server = await serverHolding(h.redis, k.queued);
      const before = await server.commandsProcessed();
      const { claimed } = await b.tasks.finish(first!, taskResult(0), ok, next(1));
      const after = await server.commandsProcessed();
      assert.equal(claimed[0]!.spec.id, 'id1');
      await h.redis.del(k.queued, k.tasks, k.running, k.leases, k.done, k.results);
      return after - before;
    };
    const shallow = await commandsFor(10);
    const deep = await commandsFor(20_000);
    assert.equal(deep, shallow, `commands at depth 20,000 (${deep}) vs 10 (${shallow})`);
  });
});
