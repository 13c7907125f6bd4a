import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter, TailBuffer } from '../src/index.js';

const split = (chunks: (string | Buffer)[]): string[] => {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line));
  for (const chunk of chunks) splitter.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  splitter.end();
  return lines;
};

test('lines are split across chunk boundaries, empty lines kept, the last unterminated line flushed at end', () => {
  assert.deepEqual(split(['a', 'b\nc', '\n\nd']), ['ab', 'c', '', 'd']);
});

test('multi-byte characters split between chunks survive', () => {
  const bytes = Buffer.from('héllo\n');
  assert.deepEqual(split([bytes.subarray(0, 2), bytes.subarray(2)]), ['héllo']);
});

test('a line over 64 KiB comes out in 64 KiB pieces; one of exactly 64 KiB comes out once', () => {
  const long = 'x'.repeat(64 * 1024 * 2 + 10);
  assert.deepEqual(
    split([long + '\n']).map((l) => l.length),
    [65536, 65536, 10],
  );
  assert.deepEqual(
    split(['y'.repeat(65536) + '\nz\n']).map((l) => l.length),
    [65536, 1],
  );
});

test('the tail keeps the last bytes only', () => {
  const tail = new TailBuffer(8);
  for (const part of ['0123', '4567', '89ab', 'cdef']) tail.push(Buffer.from(part));
  assert.equal(tail.toString(), '89abcdef');
  const none = new TailBuffer(0);
  none.push(Buffer.from('abc'));
  assert.equal(none.toString(), '');
});

test('a command environment drops private variables and adds the task’s own', async () => {
  const { taskEnv } = await import('../src/index.js');
  const base = { PATH: '/bin', pm_id: '3', PM2_HOME: '/x', COYOTES_HTTP_TOKEN: 'secret', HOME: '/root' };
  assert.deepEqual(taskEnv(base, undefined), { PATH: '/bin', HOME: '/root' });
  assert.deepEqual(taskEnv(base, { JOB: '1', PATH: '/usr/bin' }), { PATH: '/usr/bin', HOME: '/root', JOB: '1' });
  assert.deepEqual(taskEnv(base, undefined), { PATH: '/bin', HOME: '/root' }, 'the shared base is not changed by a task');
});
