import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import type { ChannelConfig, TaskResult, TaskSpec } from '@coyotes/protocol';
import { Execution } from '../src/index.js';
import type { ExecutorOptions } from '../src/index.js';
import { spawnFailure } from '../src/spawn-failure.js';

const root = mkdtempSync(path.join(tmpdir(), 'coyotes-executor-'));
const channel: ChannelConfig = { name: 'c', workers: 1, distinct: false, paused: false, maxRetries: 0, timeoutMs: 0, shell: false };
const options: ExecutorOptions = { commandRoot: root, killGraceMs: 1000, outputTailBytes: 4096, host: 'h', nodeId: 'n' };
const log = pino({ enabled: false });

let n = 0;
function run(fields: Partial<TaskSpec>, extra: Partial<ExecutorOptions> = {}): Promise<TaskResult> {
  n += 1;
  const spec: TaskSpec = { id: `t${n}`, channel: 'c', name: '', createdAt: Date.now(), source: 'cli', ...fields };
  return new Execution(spec, channel, { ...options, ...extra }, log).done;
}

const command = (name: string, ...args: string[]): Partial<TaskSpec> => ({ name, command: { name, args } });

test('every errno a spawn can meet fails the execution with a reason, never a throw', async () => {
  writeFileSync(path.join(root, 'plain'), 'echo hi\n');
  chmodSync(path.join(root, 'plain'), 0o644);
  writeFileSync(path.join(root, 'file'), '');
  const cases: [string, Partial<TaskSpec>, number, RegExp][] = [
    ['ENAMETOOLONG', command('p'.repeat(5000)), 127, /ENAMETOOLONG/],
    ['E2BIG', command('echo', 'x'.repeat(140 * 1024)), 127, /E2BIG/],
    ['NUL byte', command('echo', 'a\u0000b'), 127, /null bytes/],
    ['ENOENT', command('/no/such/program'), 127, /no such file \(ENOENT\)/],
    ['EACCES', command(path.join(root, 'plain')), 126, /permission denied \(EACCES\)/],
    ['EISDIR-ish', command(root), 126, /EACCES/],
    ['ENOTDIR cwd', { ...command('pwd'), cwd: 'file' }, 127, /ENOTDIR/],
  ];
  for (const [name, fields, exitCode, reason] of cases) {
    const result = await run(fields);
    assert.equal(result.outcome, 'spawn-error', name);
    assert.equal(result.exitCode, exitCode, name);
    assert.equal(result.pid, null, name);
    assert.match(result.error ?? '', reason, name);
    // a 5,000-character program name is clipped in the reason
    assert.ok((result.error ?? '').length < 600, `${name}: reason of ${result.error?.length} characters`);
  }
});

test('a run-as user the executor cannot switch to fails the execution, not the process', async () => {
  const result = await run(command('id'), { runAs: { user: 'nobody', uid: 2 ** 32, gid: 2 ** 32, home: '/' } });
  assert.equal(result.outcome, 'spawn-error');
  assert.equal(result.exitCode, 127);
  assert.match(result.error ?? '', /options\.uid/);
});

test('a cwd that vanished between the check and the spawn is named in the reason', () => {
  const enoent = Object.assign(new Error('spawn pwd ENOENT'), { code: 'ENOENT' });
  assert.deepEqual(spawnFailure(enoent, 'pwd', path.join(root, 'gone')), {
    exitCode: 127,
    reason: `cannot start pwd: cwd ${path.join(root, 'gone')} does not exist (ENOENT)`,
  });
  assert.deepEqual(spawnFailure(enoent, '/no/prog', root), { exitCode: 127, reason: 'cannot start /no/prog: no such file (ENOENT)' });
  const eperm = Object.assign(new Error('spawn EPERM'), { code: 'EPERM' });
  assert.equal(spawnFailure(eperm, 'id', undefined).exitCode, 126, 'a setuid refused: found, not runnable as that user');
});

test('output that is not UTF-8 keeps its valid bytes and marks the others', async () => {
  const result = await run(command('printf', 'a\\377b\\n'));
  assert.equal(result.outcome, 'exited');
  assert.equal(result.stdoutTail, 'a\ufffdb\n');
});
