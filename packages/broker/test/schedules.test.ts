import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isCoyotesError, scheduleFrom } from '@coyotes/protocol';
import type { ScheduleDefinition } from '@coyotes/protocol';
import { setTimeout as sleep } from 'node:timers/promises';
import { MISSED_AFTER_MS, ScheduleClock } from '../src/index.js';
import { brokerHarness, spec, taskResult } from './harness.js';

const h = brokerHarness();

const iso = (ms: number[]): string[] => ms.map((m) => new Date(m).toISOString());

function schedule(fields: Record<string, unknown>): ScheduleDefinition {
  return scheduleFrom({ name: 'nightly', cron: '* * * * * *', channel: 'sc', task: 'echo hi', ...fields });
}

describe('next fire times (croner), DST included', () => {
  test('Europe/Berlin spring forward: 02:30 does not exist on 29 March 2026 and fires once, at 03:00 CEST', () => {
    const clock = new ScheduleClock('30 2 * * *', 'Europe/Berlin');
    assert.deepEqual(iso(clock.upcoming(Date.parse('2026-03-27T12:00:00Z'), 3)), [
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // the gap: 03:00 CEST, the first instant after it
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  test('Europe/Berlin fall back: 02:30 occurs twice on 25 October 2026 and fires once, at the first', () => {
    const clock = new ScheduleClock('30 2 * * *', 'Europe/Berlin');
    assert.deepEqual(iso(clock.upcoming(Date.parse('2026-10-24T12:00:00Z'), 3)), [
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, the first occurrence
      '2026-10-26T01:30:00.000Z', // 02:30 CET the next day: the repeated 02:30 CET of the 25th is not fired
      '2026-10-27T01:30:00.000Z',
    ]);
  });

  test('an interval keeps its spacing in real time across the change', () => {
    const clock = new ScheduleClock('0 * * * *', 'Europe/Berlin');
    assert.deepEqual(iso(clock.upcoming(Date.parse('2026-10-24T23:30:00Z'), 4)), [
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
    ]);
  });

  test('6 fields count seconds; 5 fields start on the minute', () => {
    assert.equal(new ScheduleClock('*/15 * * * * *', 'UTC').next(Date.parse('2026-01-01T00:00:01Z')), Date.parse('2026-01-01T00:00:15Z'));
    assert.equal(new ScheduleClock('* * * * *', 'UTC').next(Date.parse('2026-01-01T00:00:01Z')), Date.parse('2026-01-01T00:01:00Z'));
  });

  for (const [cron, timezone, named] of [
    ['61 * * * *', 'UTC', 'cron "61 * * * *" is invalid'],
    ['* * * *', 'UTC', 'has 4 fields'],
    ['* * * * * * *', 'UTC', 'has 7 fields'],
    ['* * * * *', 'Mars/Olympus', 'timezone "Mars/Olympus"'],
  ] as const) {
    test(`refuses ${cron} in ${timezone}, naming the problem`, () => {
      assert.throws(
        () => new ScheduleClock(cron, timezone),
        (error: unknown) => isCoyotesError(error, 'COY_ERR_SCHEDULE_INVALID') && error.message.includes(named),
      );
    });
  }
});

describe('schedule fields', () => {
  test('a NUL byte is refused naming it; a string field given another type is refused as such', () => {
    assert.throws(
      () => schedule({ timezone: 'Europe/Berlin\0' }),
      (error: unknown) => isCoyotesError(error, 'COY_ERR_SCHEDULE_INVALID') && error.message === 'timezone must not contain NUL bytes',
    );
    assert.throws(
      () => schedule({ channel: 7 }),
      (error: unknown) => isCoyotesError(error, 'COY_ERR_SCHEDULE_INVALID') && error.message === 'channel must be a string',
    );
  });
});

describe('storage and firing', () => {
  test('an invalid timezone stores nothing', async () => {
    const b = h.broker();
    await assert.rejects(b.schedules.create(schedule({ timezone: 'Nowhere/Here' })), (error: unknown) =>
      isCoyotesError(error, 'COY_ERR_SCHEDULE_INVALID'),
    );
    assert.deepEqual(await b.schedules.list(), []);
  });

  test('a taken name is refused and nothing is overwritten; an unknown name is not found', async () => {
    const b = h.broker();
    await b.schedules.create(schedule({ name: 'taken' }));
    await assert.rejects(b.schedules.create(schedule({ name: 'taken', task: 'echo other' })), (error: unknown) =>
      isCoyotesError(error, 'COY_ERR_SCHEDULE_EXISTS'),
    );
    assert.equal((await b.schedules.get('taken'))?.task, 'echo hi');
    await assert.rejects(b.schedules.require('missing'), (error: unknown) => isCoyotesError(error, 'COY_ERR_SCHEDULE_NOT_FOUND'));
  });

  test('many masters firing the same tick at once: one run, the others told it was claimed', async () => {
    // one key prefix, five connections: five masters of one installation
    const masters = [1, 2, 3, 4, 5].map(() => h.broker({ keyPrefix: 'many', prepareQueueKey: 'many:prepare' }));
    const b = masters[0]!;
    const s = schedule({ name: 'once' });
    await b.schedules.create(s);
    const tick = (await b.schedules.states([s])).get('once')!.nextTickMs!;
    const results = await Promise.all(masters.map((m) => m.schedules.fire(s, 'tick', null, tick, tick + 1000)));
    assert.deepEqual(results.map((r) => r.outcome).sort(), ['claimed', 'claimed', 'claimed', 'claimed', 'queued']);
    assert.ok(results.every((r) => r.nextTickMs === tick + 1000));
    assert.equal(await b.redis.llen(b.keys.channel('sc').queued), 1);
    const queued = results.find((r) => r.outcome === 'queued')!;
    const view = await b.queries.get('sc', queued.taskId!);
    assert.equal(view?.spec.schedule, 'once');
    assert.equal(view?.spec.env?.COYOTES_SCHEDULE_TICK, new Date(tick).toISOString());
    assert.equal((await b.schedules.states([s])).get('once')?.lastRunId, queued.taskId);
  });

  test('overlap skip: a tick while the previous run is queued or running has no run; once it ended, it has', async () => {
    const b = h.broker();
    const s = schedule({ name: 'skipper', overlap: 'skip' });
    await b.schedules.create(s);
    let tick = (await b.schedules.states([s])).get('skipper')!.nextTickMs!;
    assert.equal((await b.schedules.fire(s, 'tick', null, tick, tick + 1000)).outcome, 'queued');
    tick += 1000;
    assert.equal((await b.schedules.fire(s, 'tick', null, tick, tick + 1000)).outcome, 'skipped');
    const [claimed] = await b.tasks.claim('sc', 1, 'n', 30_000);
    tick += 1000;
    assert.equal((await b.schedules.fire(s, 'tick', null, tick, tick + 1000)).outcome, 'skipped');
    await b.tasks.complete(claimed!, taskResult(0), { success: true, retryAllowed: true, maxRetries: 0 });
    tick += 1000;
    assert.equal((await b.schedules.fire(s, 'tick', null, tick, tick + 1000)).outcome, 'queued');
  });

  test('overlap replace: the previous run still queued is cancelled', async () => {
    const b = h.broker();
    const s = schedule({ name: 'replacer', overlap: 'replace' });
    await b.schedules.create(s);
    const tick = (await b.schedules.states([s])).get('replacer')!.nextTickMs!;
    const first = await b.schedules.fire(s, 'tick', null, tick, tick + 1000);
    const second = await b.schedules.fire(s, 'tick', null, tick + 1000, tick + 2000);
    assert.equal(second.outcome, 'queued');
    assert.equal(second.replaced, first.taskId);
    assert.equal((await b.queries.get('sc', first.taskId!))?.state, 'cancelled');
    assert.equal((await b.queries.get('sc', second.taskId!))?.state, 'queued');
  });

  test('paused or deleted: a tick is not fired; resuming starts from the next tick after now', async () => {
    const b = h.broker();
    const s = schedule({ name: 'pausable' });
    await b.schedules.create(s);
    const tick = (await b.schedules.states([s])).get('pausable')!.nextTickMs!;
    await b.schedules.update('pausable', (current) => ({ ...current, paused: true }));
    assert.equal((await b.schedules.fire(s, 'tick', null, tick, tick + 1000)).outcome, 'inactive');
    assert.equal((await b.schedules.states([s])).get('pausable')?.nextTickMs, null);
    await b.schedules.update('pausable', (current) => ({ ...current, paused: false }));
    assert.ok((await b.schedules.states([s])).get('pausable')!.nextTickMs! > Date.now() - 1000);
    assert.equal(await b.schedules.remove('pausable'), true);
    assert.equal((await b.schedules.fire(s, 'tick', null, tick, tick + 1000)).outcome, 'inactive');
    assert.equal(await b.redis.llen(b.keys.channel('sc').queued), 0);
  });

  test('writing an unchanged timing again keeps the next tick (a restart applying the config file)', async () => {
    const b = h.broker();
    const s = schedule({ name: 'kept', cron: '0 0 1 1 *' });
    await b.schedules.put(s);
    const k = b.keys.channel('sc');
    await b.redis.hset(k.scheduleTicks, 'kept', 12345);
    await b.schedules.put({ ...s, task: 'echo changed' });
    assert.equal((await b.schedules.states([s])).get('kept')?.nextTickMs, 12345);
    await b.schedules.put({ ...s, cron: '0 0 2 1 *' });
    assert.notEqual((await b.schedules.states([s])).get('kept')?.nextTickMs, 12345);
  });
});

describe('runs pre-enqueued before their tick (armSchedules, disarmSchedule)', () => {
  /** A schedule of a far tick (1 January), created, with that tick and the one after it. */
  async function armable(b: ReturnType<typeof h.broker>, name: string) {
    const s = schedule({ name, cron: '0 0 1 1 *' });
    await b.schedules.create(s);
    const tickMs = (await b.schedules.states([s])).get(name)!.nextTickMs!;
    return { s, tickMs, followingMs: new ScheduleClock(s.cron, s.timezone).next(tickMs)! };
  }

  test('many masters arming the same tick: one delayed run due at the tick, the others told it was claimed', async () => {
    const masters = [1, 2, 3].map(() => h.broker({ keyPrefix: 'armed', prepareQueueKey: 'armed:prepare' }));
    const b = masters[0]!;
    const { s, tickMs, followingMs } = await armable(b, 'burst');
    const results = await Promise.all(masters.map((m) => m.schedules.arm('sc', [{ schedule: s, tickMs, followingMs }])));
    assert.deepEqual(results.map(([r]) => r!.outcome).sort(), ['claimed', 'claimed', 'queued']);
    assert.ok(results.every(([r]) => r!.nextTickMs === followingMs));
    const run = results.find(([r]) => r!.outcome === 'queued')![0]!.taskId!;
    const k = b.keys.channel('sc');
    assert.equal(Number(await b.redis.zscore(k.delayed, run)), tickMs);
    assert.equal(await b.redis.llen(k.queued), 0);
    // the tick is claimed: firing it at the tick finds it taken
    assert.equal((await b.schedules.fire(s, 'tick', null, tickMs, followingMs)).outcome, 'claimed');
    const view = await b.queries.get('sc', run);
    assert.equal(view?.spec.schedule, 'burst');
    assert.equal(view?.spec.env?.COYOTES_SCHEDULE_TICK, new Date(tickMs).toISOString());
    assert.equal((await b.schedules.states([s])).get('burst')?.lastRunId, run);
  });

  test('pausing or deleting before the tick cancels the pre-enqueued run; the last run that fired is kept', async () => {
    const b = h.broker();
    const k = b.keys.channel('sc');
    const { s, tickMs, followingMs } = await armable(b, 'pause-armed');
    // a run that has fired already (its tick came), then one armed for the coming tick
    const fired = (await b.schedules.fire(s, 'now', null)).taskId!;
    const [armed] = await b.schedules.arm('sc', [{ schedule: s, tickMs, followingMs }]);
    assert.equal(armed!.outcome, 'queued');
    assert.equal(await b.redis.hget(k.stats, 'accepted'), '2');
    await b.schedules.update('pause-armed', (current) => ({ ...current, paused: true }));
    // cancelled before its tick: neither kept nor counted as accepted
    assert.equal(await b.redis.hget(k.stats, 'accepted'), '1');
    assert.equal(await b.redis.zscore(k.delayed, armed!.taskId!), null);
    assert.equal(await b.queries.get('sc', armed!.taskId!), null);
    assert.equal((await b.schedules.states([s])).get('pause-armed')?.lastRunId, fired);
    // resumed: the same tick is armed again (it has not come)
    await b.schedules.update('pause-armed', (current) => ({ ...current, paused: false }));
    assert.equal((await b.schedules.states([s])).get('pause-armed')?.nextTickMs, tickMs);
    const [again] = await b.schedules.arm('sc', [{ schedule: s, tickMs, followingMs }]);
    assert.equal(again!.outcome, 'queued');
    assert.equal(await b.schedules.remove('pause-armed'), true);
    assert.equal(await b.redis.zcard(k.delayed), 0);
    assert.equal(await b.queries.get('sc', again!.taskId!), null);
    assert.equal((await b.schedules.arm('sc', [{ schedule: s, tickMs, followingMs }]))[0]!.outcome, 'inactive');
  });

  test('a changed command cancels the armed run and gives its tick back, to be armed with the new command', async () => {
    const b = h.broker();
    const { s, tickMs, followingMs } = await armable(b, 'changed');
    const [armed] = await b.schedules.arm('sc', [{ schedule: s, tickMs, followingMs }]);
    assert.equal((await b.schedules.states([s])).get('changed')?.nextTickMs, followingMs);
    await b.schedules.update('changed', (current) => ({ ...current, task: 'echo new' }));
    assert.equal(await b.queries.get('sc', armed!.taskId!), null);
    assert.equal((await b.schedules.states([s])).get('changed')?.nextTickMs, tickMs);
    const changed = (await b.schedules.get('changed'))!;
    const [rearmed] = await b.schedules.arm('sc', [{ schedule: changed, tickMs, followingMs }]);
    assert.equal((await b.queries.get('sc', rearmed!.taskId!))?.spec.name, 'echo new');
  });
});

describe('runs pre-enqueued for ticks no master promoted in time (every master was down)', { concurrency: true }, () => {
  /**
   * A schedule firing at two seconds of the minute, 1 s and 2 s from now (so the tick after them is
   * a minute away), both ticks armed as a master does 15 s ahead; then nobody promotes them until
   * both are past the missed window.
   */
  async function armedThenMissed(b: ReturnType<typeof h.broker>, name: string, catchUp: 'none' | 'once') {
    const first = Math.ceil((Date.now() + 1000) / 1000) * 1000;
    const second = first + 1000;
    const seconds = [first, second].map((ms) => new Date(ms).getUTCSeconds()).join(',');
    const s = schedule({ name, cron: `${seconds} * * * * *`, catch_up: catchUp });
    await b.schedules.create(s);
    const clock = new ScheduleClock(s.cron, s.timezone);
    assert.equal((await b.schedules.states([s])).get(name)!.nextTickMs, first);
    const armed = [];
    for (const tickMs of [first, second]) {
      const [result] = await b.schedules.arm('sc', [{ schedule: s, tickMs, followingMs: clock.next(tickMs)! }]);
      assert.equal(result!.outcome, 'queued');
      armed.push(result!.taskId!);
    }
    const k = b.keys.channel('sc');
    assert.equal(await b.redis.hget(k.stats, 'accepted'), '2');
    await sleep(second + MISSED_AFTER_MS + 200 - Date.now());
    return { s, k, armed, first, second, nextTick: clock.next(second)! };
  }

  test('catch_up none: the promotion drops every missed run and none is queued', async () => {
    const b = h.broker();
    const { s, k, armed, nextTick } = await armedThenMissed(b, 'missed-none', 'none');
    const promoted = await b.tasks.promoteDue('sc');
    assert.deepEqual({ moved: promoted.moved, missed: promoted.missed }, { moved: 0, missed: 2 });
    assert.equal(await b.redis.llen(k.queued), 0);
    for (const id of armed) assert.equal(await b.queries.get('sc', id), null);
    assert.equal(await b.redis.hget(k.stats, 'accepted'), '0');
    // no run is its last; its next tick (a minute on) is untouched
    assert.deepEqual((await b.schedules.states([s])).get('missed-none'), { nextTickMs: nextTick, lastRunId: null });
    assert.equal(await b.redis.hget(k.schedulePending, 'missed-none'), null);
  });

  test('catch_up once: the promotion queues the latest missed run alone, late, and drops the rest', async () => {
    const b = h.broker();
    const { s, k, armed, nextTick } = await armedThenMissed(b, 'missed-once', 'once');
    const promoted = await b.tasks.promoteDue('sc');
    assert.deepEqual({ moved: promoted.moved, missed: promoted.missed }, { moved: 1, missed: 1 });
    assert.deepEqual(await b.redis.lrange(k.queued, 0, -1), [armed[1]]);
    assert.equal(await b.queries.get('sc', armed[0]!), null);
    assert.equal(await b.redis.hget(k.stats, 'accepted'), '1');
    assert.deepEqual((await b.schedules.states([s])).get('missed-once'), { nextTickMs: nextTick, lastRunId: armed[1] });
    // promoting again changes nothing
    assert.deepEqual(await b.tasks.promoteDue('sc'), { moved: 0, nextDueMs: null, missed: 0 });
  });

  test('catch_up once with the next tick missed too: firing that tick is the one run and drops the armed ones', async () => {
    const b = h.broker();
    const s = schedule({ name: 'missed-fire', cron: '* * * * * *', catch_up: 'once' });
    await b.schedules.create(s);
    const first = (await b.schedules.states([s])).get('missed-fire')!.nextTickMs!;
    const k = b.keys.channel('sc');
    const [armed] = await b.schedules.arm('sc', [{ schedule: s, tickMs: first, followingMs: first + 1000 }]);
    await sleep(first + 1000 + MISSED_AFTER_MS + 200 - Date.now());
    // the firer comes first: its catch-up run is queued, the armed run for the earlier tick dropped
    const fired = await b.schedules.fire(s, 'tick', null, first + 1000, Date.now() + 1000);
    assert.equal(fired.outcome, 'queued');
    assert.equal(await b.queries.get('sc', armed!.taskId!), null);
    assert.deepEqual(await b.redis.lrange(k.queued, 0, -1), [fired.taskId]);
    assert.equal(await b.redis.hget(k.stats, 'accepted'), '1');
    assert.deepEqual(await b.tasks.promoteDue('sc'), { moved: 0, nextDueMs: null, missed: 0 });
    assert.equal((await b.schedules.states([s])).get('missed-fire')?.lastRunId, fired.taskId);
  });

  test('a retry of a scheduled run, or a task of no schedule, waiting past the window is promoted, never dropped', async () => {
    const b = h.broker();
    const s = schedule({ name: 'retrying', cron: '0 0 1 1 *' });
    await b.schedules.create(s);
    const k = b.keys.channel('sc');
    const run = (await b.schedules.fire(s, 'now', null)).taskId!;
    // it ran, failed, and waits out its backoff, overdue (its master died meanwhile)
    await b.redis.lrem(k.queued, 0, run);
    await b.redis.hset(k.retries, run, '1:1');
    await b.redis.zadd(k.delayed, Date.now() - 10_000, run);
    // and a delayed task of no schedule, as overdue
    const plain = spec('sc', 'echo later', { executeAt: Date.now() + 60_000 });
    assert.equal(await b.tasks.enqueue(plain, { distinct: false }), 'delayed');
    await b.redis.zadd(k.delayed, Date.now() - 10_000, plain.id);
    const promoted = await b.tasks.promoteDue('sc');
    assert.deepEqual({ moved: promoted.moved, missed: promoted.missed }, { moved: 2, missed: 0 });
    assert.deepEqual((await b.redis.lrange(k.queued, 0, -1)).sort(), [run, plain.id].sort());
  });
});
