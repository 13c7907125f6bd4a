import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TIMER_DELAY_MS, setLongTimeout } from '../src/index.js';

const DAY_MS = 86_400_000;

test('a 30-day timeout is waited out in chunks below the limit, and fires only at its deadline', async () => {
  // a fake clock that moves a day ahead each time a chunk elapses
  let clock = 0;
  const chunks: number[] = [];
  const fired = new Promise<number>((resolve) => {
    setLongTimeout(() => resolve(clock), 30 * DAY_MS, {
      maxChunkMs: 5,
      now: () => {
        chunks.push(clock);
        const seen = clock;
        clock += DAY_MS;
        return seen;
      },
    });
  });
  const firedAt = await fired;
  assert.ok(firedAt >= 30 * DAY_MS, `fired at fake day ${firedAt / DAY_MS}, before its 30-day deadline`);
  // one read for the deadline, then one per chunk: about 30 chunks, not one overflowed timer
  assert.ok(chunks.length >= 30, `only ${chunks.length} clock reads: the delay was not chunked`);
});

test('a delay within the limit is one plain timer', async () => {
  let reads = 0;
  const started = Date.now();
  await new Promise<void>((resolve) => setLongTimeout(resolve, 30, { now: () => ((reads += 1), Date.now()) }));
  assert.ok(Date.now() - started >= 25, 'fired before its delay');
  assert.equal(reads, 2, 'the deadline read and one arming, no chunk');
});

test('a delay beyond setTimeout’s limit does not fire at once (Node would fire it after 1 ms)', async () => {
  let fired = false;
  const timer = setLongTimeout(() => (fired = true), MAX_TIMER_DELAY_MS + 1000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  timer.clear();
  assert.equal(fired, false);
});

test('clear() stops a chunked timer between chunks', async () => {
  let fired = false;
  const timer = setLongTimeout(() => (fired = true), 50, { maxChunkMs: 5 });
  await new Promise((resolve) => setTimeout(resolve, 12));
  timer.clear();
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(fired, false);
});
