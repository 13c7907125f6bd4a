import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { freePort } from './helpers/ports.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
/** The packages only tests use: `scripts/start.sh` must never install them. */
const TEST_ONLY = ['chromium', 'supervisor', 'mariadb-server', 'postgresql', 'rabbitmq-server'];
/** The C compiler the build needs for the native command spawner: a run-time need (no `cc` on the fresh PATH). */
const COMPILER = ['gcc', 'libc6-dev'];
/** Temporary directories to remove at the end. */
const made: string[] = [];

/**
 * A fresh machine as the scripts see it: a PATH holding only the basic tools, and apt-get, npm,
 * pnpm and node replaced by recorders that write what they were asked to `calls.log`. apt-get
 * "installs" redis-server by linking the real one in (so start.sh can start it); nothing is installed
 * or removed on this machine.
 */
function freshMachine(): { bin: string; calls: () => string[]; aptInstalled: () => string[] } {
  const bin = mkdtempSync(path.join(tmpdir(), 'coyotes-bootstrap-'));
  made.push(bin);
  const log = path.join(bin, 'calls.log');
  writeFileSync(log, '');
  for (const tool of ['bash', 'dirname', 'id', 'env', 'seq', 'mkdir', 'sleep']) {
    symlinkSync(path.join('/usr/bin', tool), path.join(bin, tool));
  }
  const shim = (name: string, body: string) => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${log}'\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  shim('apt-get', `case " $* " in *" install "*" redis-server "*) /usr/bin/ln -sf /usr/bin/redis-server '${bin}/redis-server' ;; esac`);
  shim('npm', `case " $* " in *" pnpm@"*) /usr/bin/cp '${bin}/pnpm.recorder' '${bin}/pnpm' ;; esac`);
  writeFileSync(path.join(bin, 'pnpm.recorder'), `#!/bin/sh\necho "pnpm $*" >> '${log}'\n`);
  chmodSync(path.join(bin, 'pnpm.recorder'), 0o755);
  shim('node', '');
  shim('sudo', 'exec "$@"');
  const calls = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const aptInstalled = () =>
    calls()
      .filter((line) => /^apt-get .*\binstall\b/.test(line))
      .flatMap((line) =>
        line
          .split(' ')
          .slice(1)
          .filter((word) => !word.startsWith('-') && word !== 'install'),
      );
  return { bin, calls, aptInstalled };
}

/**
 * Runs one of the scripts from a copy of scripts/ in a directory of its own: start.sh keeps the
 * data of the Redis it starts under the clone's .coyotes/, which must not be this checkout's.
 */
async function script(file: string, args: string[], bin: string, env: NodeJS.ProcessEnv = {}) {
  const clone = mkdtempSync(path.join(tmpdir(), 'coyotes-clone-'));
  made.push(clone);
  cpSync(path.join(ROOT, 'scripts'), path.join(clone, 'scripts'), { recursive: true });
  return run('/usr/bin/bash', [path.join(clone, 'scripts', file), ...args], {
    env: { PATH: bin, HOME: process.env.HOME, ...env },
    timeout: 60_000,
  });
}

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('scripts/start.sh installs what running needs, nothing only tests use', () => {
  test('on a fresh machine with no Redis answering: pnpm, redis-server, a C compiler, the dependencies and the build; then the server', async () => {
    const machine = freshMachine();
    const port = await freePort();
    await script('start.sh', ['-redis-host', `127.0.0.1:${port}`, '-concurrent', '2'], machine.bin);
    assert.deepEqual(machine.aptInstalled(), ['redis-server', 'redis-tools', ...COMPILER]);
    for (const pkg of TEST_ONLY) assert.ok(!machine.calls().some((line) => line.includes(pkg)), `${pkg} was asked for`);
    const calls = machine.calls().filter((line) => !line.startsWith('apt-get'));
    assert.deepEqual(calls, [
      'npm install -g pnpm@9',
      'pnpm install --frozen-lockfile --reporter=silent',
      'pnpm run --silent build',
      `node packages/cli/bin/coyotes.js -redis-host 127.0.0.1:${port} -concurrent 2`,
    ]);
  });

  test('with a Redis answering on the address: no redis-server either, so apt installs only the compiler', async () => {
    const machine = freshMachine();
    await script('start.sh', ['-redis-host', redis.addr], machine.bin);
    assert.deepEqual(machine.aptInstalled(), COMPILER);
    assert.ok(machine.calls().includes(`node packages/cli/bin/coyotes.js -redis-host ${redis.addr}`));
  });
});

describe('scripts/test.sh installs the test-only packages', () => {
  test('on a fresh machine: redis-server, a C compiler, chromium and supervisor (the recorder sees them), then lint and the tests', async () => {
    const machine = freshMachine();
    await script('test.sh', ['startup'], machine.bin);
    assert.deepEqual(machine.aptInstalled(), ['redis-server', 'redis-tools', ...COMPILER, ...TEST_ONLY]);
    // the index is refreshed once, not once per package
    assert.equal(machine.calls().filter((line) => line.startsWith('apt-get update')).length, 1);
    assert.deepEqual(machine.calls().slice(-2), ['pnpm run --silent lint', 'node scripts/run-tests.mjs startup']);
  });
});
