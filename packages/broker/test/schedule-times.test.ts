import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScheduleClock } from '../src/index.js';

// When the hour field names hours, every wall-clock time fires once: one that occurs twice (the
// autumn overlap) at its first occurrence, those inside the spring-forward gap at the first instant
// after it. When it starts with `*`, every instant whose wall-clock time matches fires.

const iso = (ms: number[]): string[] => ms.map((m) => new Date(m).toISOString());
const upcoming = (cron: string, timezone: string, after: string, count: number): string[] =>
  iso(new ScheduleClock(cron, timezone).upcoming(Date.parse(after), count));

describe('a repeated wall-clock time fires once when the hour field names hours', () => {
  test('a list: 0,30 2 on 25 October 2026 in Europe/Berlin fires 02:00 and 02:30 CEST only', () => {
    assert.deepEqual(upcoming('0,30 2 25 10 *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 3), [
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST; 02:00 and 02:30 CET (01:00, 01:30 UTC) are not fired
      '2027-10-25T00:00:00.000Z',
    ]);
  });

  test('a range: 30 1-3 fires 02:30 once, then 03:30 CET', () => {
    assert.deepEqual(upcoming('30 1-3 * * *', 'Europe/Berlin', '2026-10-24T22:00:00Z', 4), [
      '2026-10-24T23:30:00.000Z', // 01:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T02:30:00.000Z', // 03:30 CET
      '2026-10-26T00:30:00.000Z', // 01:30 CET the next day
    ]);
  });

  test('a step over the minutes of a named hour: */30 2', () => {
    assert.deepEqual(upcoming('*/30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 4), [
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:00:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  test('6 fields: */20 30 2 fires 02:30:00, :20 and :40 once', () => {
    assert.deepEqual(upcoming('*/20 30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 4), [
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T00:30:20.000Z',
      '2026-10-25T00:30:40.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  test('a last-weekday field (0L, the last Sunday) with a list of minutes', () => {
    assert.deepEqual(upcoming('0,30 2 * 10 0L', 'Europe/Berlin', '2026-10-01T00:00:00Z', 3), [
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2027-10-31T00:00:00.000Z', // 02:00 CEST on the last Sunday of October 2027
    ]);
  });

  test('next() asked inside the repeated stretch moves past it, never back', () => {
    const clock = new ScheduleClock('0,30 2 * * *', 'Europe/Berlin');
    for (const after of ['2026-10-25T00:45:00Z', '2026-10-25T01:00:00Z', '2026-10-25T01:15:00Z', '2026-10-25T01:59:59Z']) {
      assert.equal(new Date(clock.next(Date.parse(after))!).toISOString(), '2026-10-26T01:00:00.000Z', `next after ${after}`);
    }
  });

  test('next() and upcoming() agree from any instant of either change day', () => {
    for (const [cron, day] of ['0,30 2 * * *', '30 1-3 * * *', '*/20 30 2 * * *', '0 * * * *'].flatMap((c) => [
      [c, '2026-10-25'],
      [c, '2026-03-29'],
    ])) {
      const clock = new ScheduleClock(cron!, 'Europe/Berlin');
      const from = Date.parse(`${day}T00:00:00Z`) - 2 * 3600_000;
      const ticks = clock.upcoming(from, 50);
      // steps off the second, as Date.now() is
      for (let after = from + 417; after < from + 6 * 3600_000; after += 7 * 60_000 + 13_111) {
        const next = clock.next(after)!;
        assert.ok(next > after, `${cron}: next after ${new Date(after).toISOString()} is later`);
        assert.equal(
          next,
          ticks.find((tick) => tick > after),
          `${cron}: next after ${new Date(after).toISOString()}`,
        );
      }
    }
  });

  test('Australia/Lord_Howe goes back 30 minutes: 15,45 1 fires 01:45 once on 5 April 2026', () => {
    assert.deepEqual(upcoming('15,45 1 * * *', 'Australia/Lord_Howe', '2026-04-04T12:00:00Z', 4), [
      '2026-04-04T14:15:00.000Z', // 01:15 +11
      '2026-04-04T14:45:00.000Z', // 01:45 +11; 01:45 +10:30 (15:15 UTC) is not fired
      '2026-04-05T14:45:00.000Z', // 01:15 +10:30 on the 6th
      '2026-04-05T15:15:00.000Z',
    ]);
  });

  test('Australia/Sydney (southern autumn): 0,30 2 on 5 April 2026 fires at AEDT only', () => {
    assert.deepEqual(upcoming('0,30 2 * * *', 'Australia/Sydney', '2026-04-04T12:00:00Z', 3), [
      '2026-04-04T15:00:00.000Z', // 02:00 AEDT
      '2026-04-04T15:30:00.000Z', // 02:30 AEDT; 02:00 and 02:30 AEST (16:00, 16:30 UTC) are not fired
      '2026-04-05T16:00:00.000Z', // 02:00 AEST on the 6th
    ]);
  });

  test('America/Santiago repeats 23:00-23:59 of 4 April 2026: 0,30 23 fires at -03 only', () => {
    assert.deepEqual(upcoming('0,30 23 * * *', 'America/Santiago', '2026-04-04T12:00:00Z', 3), [
      '2026-04-05T02:00:00.000Z', // 23:00 -03
      '2026-04-05T02:30:00.000Z', // 23:30 -03; 23:00 and 23:30 -04 (03:00, 03:30 UTC) are not fired
      '2026-04-06T03:00:00.000Z', // 23:00 -04 on the 5th
    ]);
  });
});

describe('wall-clock times inside the spring-forward gap fire once, after it, when the hour field names hours', () => {
  test('a list: 0,30 2 on 29 March 2026 in Europe/Berlin fires once, at 03:00 CEST', () => {
    assert.deepEqual(upcoming('0,30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 3), [
      '2026-03-29T01:00:00.000Z', // 03:00 CEST, the first instant after the gap
      '2026-03-30T00:00:00.000Z', // 02:00 CEST
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  test('a range: 30 1-3 fires 01:30 CET, 03:00 CEST for the missing 02:30, then 03:30 CEST', () => {
    assert.deepEqual(upcoming('30 1-3 * * *', 'Europe/Berlin', '2026-03-28T22:00:00Z', 4), [
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:30:00.000Z',
      '2026-03-29T23:30:00.000Z', // 01:30 CEST on the 30th
    ]);
  });

  test('0 2,3 fires 03:00 CEST once, for the missing 02:00 and the real 03:00', () => {
    assert.deepEqual(upcoming('0 2,3 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 2), [
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:00:00.000Z',
    ]);
  });

  test('Australia/Lord_Howe goes forward 30 minutes: 15,45 2 fires 02:30 (for 02:15) and 02:45 on 4 October 2026', () => {
    assert.deepEqual(upcoming('15,45 2 * * *', 'Australia/Lord_Howe', '2026-10-03T12:00:00Z', 3), [
      '2026-10-03T15:30:00.000Z', // 02:30 +11, the first instant after the gap
      '2026-10-03T15:45:00.000Z', // 02:45 +11
      '2026-10-04T15:15:00.000Z', // 02:15 +11 on the 5th
    ]);
  });

  test('a search window ending within a second after the change, off the second, ends', () => {
    // the week before the change plus 500 ms: the week-long window ends 500 ms after 01:00 UTC
    // (a search of the change that halved to a middle before the window's start never ended)
    const clock = new ScheduleClock('0 4 1 4 *', 'Europe/Berlin');
    assert.equal(new Date(clock.next(Date.parse('2026-03-22T01:00:00.500Z'))!).toISOString(), '2026-04-01T02:00:00.000Z');
  });

  test('an hour field starting with *: 30 * has no 02:30 on 29 March and fires every real hour', () => {
    assert.deepEqual(upcoming('30 * * * *', 'Europe/Berlin', '2026-03-28T23:50:00Z', 3), [
      '2026-03-29T00:30:00.000Z', // 01:30 CET
      '2026-03-29T01:30:00.000Z', // 03:30 CEST
      '2026-03-29T02:30:00.000Z',
    ]);
  });
});

describe('an hour field starting with * fires every matching instant, repeated ones included', () => {
  test('*/30 * fires every real half hour across the change', () => {
    assert.deepEqual(upcoming('*/30 * * * *', 'Europe/Berlin', '2026-10-24T23:50:00Z', 5), [
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z', // 02:00 CET, the second 02:00
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
  });

  test('0 */2 fires 02:00 CEST and 02:00 CET', () => {
    assert.deepEqual(upcoming('0 */2 * * *', 'Europe/Berlin', '2026-10-24T21:30:00Z', 4), [
      '2026-10-24T22:00:00.000Z', // 00:00 CEST
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T03:00:00.000Z', // 04:00 CET
    ]);
  });
});
