import assert from 'node:assert/strict';
import { test } from 'node:test';
import { split } from 'shlex';
import { taskArgv } from '../src/index.js';

const argv = (name: string): string[] => taskArgv({ name }, { shell: false });

test('a line without quotes, escapes or $ splits exactly as shlex splits it (the fast path)', () => {
  // words, runs of shlex's whitespace, characters that are words to shlex (#, ;, |, \v, NBSP, UTF-8)
  const alphabet = [
    'a',
    'b',
    'é',
    ' ',
    '  ',
    '\t',
    '\r',
    '\n',
    '#',
    ';',
    '|',
    '&',
    '*',
    '~',
    '(',
    '-',
    '/',
    '=',
    '\v',
    '\f',
    '\u00a0',
    '日',
  ];
  let seed = 16;
  const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
  for (let i = 0; i < 20_000; i += 1) {
    let line = 'x';
    for (let n = next() % 14; n > 0; n -= 1) line += alphabet[next() % alphabet.length];
    assert.deepEqual(argv(line), split(line), JSON.stringify(line));
  }
});

test('quotes, escapes and $ still go through shlex', () => {
  assert.deepEqual(argv(`echo "a  b" 'c d' e\\ f`), ['echo', 'a  b', 'c d', 'e f']);
  assert.deepEqual(argv(`printf $'x\\ty'`), ['printf', 'x\ty']);
});

test('an empty or blank line is refused', () => {
  assert.throws(() => argv(' \t\n'), { code: 'COY_ERR_TASK_INVALID', message: 'task: empty command line' });
});
