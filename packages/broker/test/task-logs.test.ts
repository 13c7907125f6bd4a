import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { brokerHarness } from './harness.js';

const { broker } = brokerHarness();
const line = (n: number) => ({ stream: 'stdout' as const, data: String(n).padStart(40, '.') });
const lines = (count: number) => Array.from({ length: count }, (_, i) => line(i));

describe('log streams: byte budgets per task and per channel', () => {
  test('a task stream keeps at most its bytes; a channel’s tasks together at most the channel’s', async () => {
    const b = broker({ logStreamTaskBytes: 100, logStreamChannelBytes: 250 });
    const task = (id: string) => ({ id, channel: 'logs' });
    const stored = async (id: string) => (await b.logs.read('logs', id, '0')).map((record) => record.data.length);

    // 3 lines of 40 bytes: the third would pass the task's 100
    assert.equal(await b.logs.append(task('a'), lines(3)), 40);
    assert.deepEqual(await stored('a'), [40, 40]);
    // the budget holds across calls (a later flush, a retry of the task)
    assert.equal(await b.logs.append(task('a'), lines(1)), 40);
    assert.deepEqual(await stored('a'), [40, 40]);

    // task b: its own 100 bytes, the channel at 160 of 250
    assert.equal(await b.logs.append(task('b'), lines(5)), 120);
    // task c: room for 2 lines in the channel (240), not 3 (280)
    assert.equal(await b.logs.append(task('c'), lines(3)), 40);
    assert.deepEqual(await stored('c'), [40, 40]);
    assert.equal(await b.logs.append(task('d'), lines(1)), 40, 'the channel budget is spent');
    assert.deepEqual(await stored('d'), []);

    // Coyotes' own note goes in whatever the budget
    await b.logs.note(task('a'), 'output truncated');
    assert.deepEqual((await b.logs.read('logs', 'a', '0')).at(-1)?.data, 'output truncated');
  });
});
