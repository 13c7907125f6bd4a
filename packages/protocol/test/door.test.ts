import assert from 'node:assert/strict';
import { test } from 'node:test';
import { split } from 'shlex';
import { CoyotesError, allowedTaskArgv, newChannelConfig, parseIngressEntry, taskArgv } from '../src/index.js';

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

// unit tests of the door: no binary, no Redis

test('parseIngressEntry reads the seed, command and task-job shapes', () => {
  assert.deepEqual(parseIngressEntry('{"task":"echo hi","chan":"biz","ts":1}'), {
    ok: true,
    input: { id: undefined, channel: 'biz', name: 'echo hi', command: undefined, executeAt: undefined },
  });
  const command = parseIngressEntry('{"command":{"name":"echo","args":["a",2]},"id":"x-1"}');
  assert.deepEqual(command, {
    ok: true,
    input: { id: 'x-1', channel: undefined, name: 'echo a 2', command: { name: 'echo', args: ['a', '2'] }, executeAt: undefined },
  });
  const job = parseIngressEntry('{"id":7,"tube":"cron","task":{"cmdline":"php","cmd_args":["run"],"timeout":2}}');
  assert.deepEqual(job, { ok: true, input: { id: '7', channel: 'cron', name: 'php run', timeoutMs: 2000 } });
  const later = parseIngressEntry(JSON.stringify({ task: 'date', execute_at: 1_900_000_000.5 }));
  assert.equal(later.ok && later.input.executeAt, 1_900_000_000_500);
});

test('parseIngressEntry refuses what is not an entry, naming the field', () => {
  const reasons = [
    ['not json', 'not valid JSON'],
    ['[1]', 'not a JSON object'],
    ['{"task":"x","colour":"red"}', 'unknown field "colour" (takes task, chan, channel, ts, id, command, execute_at)'],
    ['{"task":3}', 'task must be a string (the command line)'],
    ['{"task":""}', 'task must be a non-empty command line'],
    ['{"task":"x","chan":""}', 'chan must be a string'],
    ['{"command":{"name":""}}', 'command.name must be a non-empty string'],
    ['{"command":{"name":"ls","args":"-l"}}', 'command.args must be an array of strings'],
    ['{"task":"x","execute_at":1e15}', 'execute_at must be a unix timestamp in seconds, at most ten years ahead'],
    ['{"task":{"cmdline":""}}', 'task.cmdline must be a non-empty string'],
    ['{"task":{"cmdline":"x","timeout":"1"}}', 'task.timeout must be a number of seconds, at most 2592000'],
  ] as const;
  for (const [entry, reason] of reasons) assert.deepEqual(parseIngressEntry(entry), { ok: false, reason }, entry);
});

test('taskArgv: command + args exec as given; a line is split without expansion; a shell channel runs /bin/sh -c', () => {
  const plain = newChannelConfig('c', 1);
  assert.deepEqual(taskArgv({ name: 'ignored', command: { name: 'ls', args: ['-l', '$HOME'] } }, plain), ['ls', '-l', '$HOME']);
  assert.deepEqual(taskArgv({ name: `echo 'a b' $HOME "c"` }, plain), ['echo', 'a b', '$HOME', 'c']);
  assert.deepEqual(taskArgv({ name: 'echo $HOME | wc' }, newChannelConfig('s', 1, { shell: true })), ['/bin/sh', '-c', 'echo $HOME | wc']);
});

test('allowedTaskArgv: a program off the list is COY_ERR_TASK_NOT_ALLOWED; a program-changing env is COY_ERR_TASK_INVALID', () => {
  const locked = newChannelConfig('locked', 1, { allowedCommands: ['echo', 'tr*'] });
  assert.deepEqual(allowedTaskArgv({ name: 'tr a b' }, locked), ['tr', 'a', 'b']);
  const refusedWith = (code: string, message: RegExp) => (error: unknown) =>
    error instanceof CoyotesError && error.code === code && message.test(error.message);
  assert.throws(
    () => allowedTaskArgv({ name: 'rm -rf /' }, locked),
    refusedWith('COY_ERR_TASK_NOT_ALLOWED', /^command "rm" is not in the allowed_commands of channel locked$/),
  );
  assert.throws(
    () => allowedTaskArgv({ name: 'echo x', env: { PATH: '/evil' } }, locked),
    refusedWith('COY_ERR_TASK_INVALID', /^env PATH may not be set in channel locked/),
  );
  // a shell channel's program is /bin/sh: a shell line cannot smuggle another program past the list
  assert.throws(
    () => allowedTaskArgv({ name: 'echo ok' }, { ...locked, shell: true }),
    refusedWith('COY_ERR_TASK_NOT_ALLOWED', /"\/bin\/sh"/),
  );
  // no list: everything, env included
  assert.deepEqual(allowedTaskArgv({ name: 'rm x', env: { PATH: '/p' } }, newChannelConfig('open', 1)), ['rm', 'x']);
});
