// What a command sees and what becomes of it, through both spawners: the native helper
// (coyotes-spawner, built by `pnpm run build`) and the node:child_process fallback.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { newChannelConfig } from '@coyotes/protocol';
import type { TaskResult, TaskSpec } from '@coyotes/protocol';
import { FORKS_GRANDCHILDREN, allGone, killAll, treePids } from '../../../test/helpers/processes.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { Execution, NATIVE_SPAWNER_BINARY, NativeSpawner, NodeSpawner, resolveSpawner } from '../src/index.js';
import type { ExecutorOptions, Spawner } from '../src/index.js';

const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'coyotes-spawner-')));
const log = pino({ level: 'silent' });
const channel = newChannelConfig('default', 8);
const leftovers: number[] = [];
let serial = 0;

const spec = (command: string, args: string[], more: Partial<TaskSpec> = {}): TaskSpec => ({
  id: `t${++serial}`,
  channel: 'default',
  name: [command, ...args].join(' '),
  command: { name: command, args },
  createdAt: Date.now(),
  source: 'http',
  ...more,
});

const run = (spawner: Spawner, task: TaskSpec, more: Partial<ExecutorOptions> = {}): Execution =>
  new Execution(
    task,
    channel,
    { commandRoot: root, killGraceMs: 500, outputTailBytes: 4096, host: 'h', nodeId: 'n', spawner, ...more },
    log,
  );

/** Resident set of a process in bytes (VmRSS). */
const rssOf = (pid: number | 'self'): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

after(() => killAll(leftovers));

for (const kind of ['native', 'node'] as const) {
  describe(`the ${kind} spawner`, () => {
    const spawner: Spawner = kind === 'native' ? new NativeSpawner(NATIVE_SPAWNER_BINARY) : new NodeSpawner();
    after(() => spawner.close());

    test('exit code, stdout and stderr tails, own process group, stdin closed', async () => {
      const execution = run(spawner, spec('sh', ['-c', 'echo out; echo err >&2; ps -o pgid= -p $$; cat; exit 3']));
      const result = await execution.done;
      assert.equal(result.outcome, 'exited');
      assert.equal(result.exitCode, 3);
      assert.equal(result.signal, null);
      assert.equal(result.stderrTail, 'err\n');
      const [out, pgid] = result.stdoutTail.trim().split(/\s+/);
      assert.equal(out, 'out');
      assert.equal(Number(pgid), result.pid, 'the command leads its own process group');
      assert.equal(await execution.started, result.pid);
    });

    test('a signal that ends the command is recorded as such', async () => {
      const result = await run(spawner, spec('sh', ['-c', 'kill -TERM $$'])).done;
      assert.deepEqual([result.outcome, result.exitCode, result.signal], ['signaled', null, 'SIGTERM']);
    });

    test('cwd inside the command root; env: the task’s own on top, private variables never passed', async () => {
      mkdirSync(path.join(root, 'work'), { recursive: true });
      process.env.COYOTES_SECRET_FOR_TEST = 'hidden';
      try {
        const result = await run(
          spawner,
          spec('sh', ['-c', 'pwd; echo "$GREETING:${COYOTES_SECRET_FOR_TEST:-unset}"'], { cwd: 'work', env: { GREETING: 'hi' } }),
        ).done;
        assert.equal(result.stdoutTail, `${path.join(root, 'work')}\nhi:unset\n`);
      } finally {
        delete process.env.COYOTES_SECRET_FOR_TEST;
      }
    });

    test('the program is looked up on the PATH of the task’s environment', async () => {
      const bin = path.join(root, `bin-${kind}`);
      mkdirSync(bin, { recursive: true });
      const result = await run(spawner, spec('sh', ['-c', `printf '#!/bin/sh\\necho mine\\n' > ${bin}/mine; chmod +x ${bin}/mine`])).done;
      assert.equal(result.exitCode, 0);
      const found = await run(spawner, spec('mine', [], { env: { PATH: `${bin}:/usr/bin:/bin` } })).done;
      assert.equal(found.stdoutTail, 'mine\n');
    });

    test('a missing program is a spawn error naming ENOENT, exit code 127 as a shell says', async () => {
      const result = await run(spawner, spec('no-such-command-here', [])).done;
      assert.equal(result.outcome, 'spawn-error');
      assert.equal(result.exitCode, 127);
      assert.equal(result.pid, null);
      assert.equal(result.error, 'cannot start no-such-command-here: no such file (ENOENT)');
    });

    test('a file the kernel refuses (ENOEXEC: no #!, no binary format) is run by /bin/sh as execvp does; no exec bit is 126', async () => {
      // garbage with an exec bit: both spawners hand it to /bin/sh (POSIX execvp), whose verdict is its exit code
      const garbage = path.join(root, `garbage-${kind}`);
      writeFileSync(garbage, 'no-such-command-in-garbage\n', { mode: 0o755 });
      const ran = await run(spawner, spec(garbage, [])).done;
      assert.equal(ran.outcome, 'exited');
      assert.equal(ran.exitCode, 127, 'the shell could not find the command written in the file');
      assert.match(ran.stderrTail, /no-such-command-in-garbage: (command )?not found/);
      assert.notEqual(ran.pid, null, 'it ran');
      // found but no exec bit: a spawn error, 126 as a shell says
      const plain = path.join(root, `plain-${kind}`);
      writeFileSync(plain, 'true\n', { mode: 0o644 });
      const refused = await run(spawner, spec(plain, [])).done;
      assert.deepEqual([refused.outcome, refused.exitCode, refused.pid], ['spawn-error', 126, null]);
      assert.equal(refused.error, `cannot start ${plain}: permission denied (EACCES)`);
    });

    test('-run-as: uid, gid, no supplementary groups, the user’s HOME', async () => {
      assert.equal(process.getuid!(), 0, 'the test suite runs as root (run-as needs it)');
      const nobody = { user: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' };
      const result = await run(spawner, spec('sh', ['-c', 'echo "$(id -u):$(id -g):$(id -G):$HOME:$USER"']), { runAs: nobody }).done;
      assert.equal(result.stdoutTail, '65534:65534:65534:/nonexistent:nobody\n');
      const missing = await run(spawner, spec('/no-such-dir/no-such-command', []), { runAs: nobody }).done;
      assert.equal(missing.error, 'cannot start /no-such-dir/no-such-command: no such file (ENOENT)');
    });

    test('a kill takes the whole tree: SIGTERM, then SIGKILL for what ignores it', async () => {
      const file = path.join(root, `tree-kill-${kind}`);
      const execution = run(spawner, spec('/bin/sh', [FORKS_GRANDCHILDREN, file]));
      const pids = await treePids(file);
      leftovers.push(...pids);
      execution.stop('killed', 500);
      const result = await execution.done;
      assert.equal(result.outcome, 'killed');
      await allGone(pids);
    });

    test('a timeout ends the whole tree and is recorded as timed-out', async () => {
      const file = path.join(root, `tree-timeout-${kind}`);
      const execution = run(spawner, spec('/bin/sh', [FORKS_GRANDCHILDREN, file], { timeoutMs: 1500 }));
      const pids = await treePids(file);
      leftovers.push(...pids);
      const result = await execution.done;
      assert.equal(result.outcome, 'timed-out');
      await allGone(pids);
    });

    test('a kill that arrives before the pid is known is applied once it is', async () => {
      const execution = run(spawner, spec('sleep', ['30']));
      execution.kill('killed');
      const result = await execution.done;
      assert.deepEqual([result.outcome, result.signal], ['killed', 'SIGKILL']);
    });

    test('1 GiB of output: tails and lines bounded, memory flat in every process', async () => {
      const execution = run(spawner, spec('head', ['-c', String(1024 ** 3), '/dev/zero']));
      const before = rssOf('self');
      let peak = before;
      let helperPeak = 0;
      const helper = spawner instanceof NativeSpawner ? spawner.pid : undefined;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssOf('self'));
        if (helper !== undefined) helperPeak = Math.max(helperPeak, rssOf(helper));
      }, 50);
      let result: TaskResult;
      try {
        result = await execution.done;
      } finally {
        clearInterval(sampler);
      }
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdoutTail.length, 4096);
      assert.ok(peak - before < 200 * 1024 ** 2, `the test process grew by ${Math.round((peak - before) / 1024 ** 2)} MiB`);
      if (helper !== undefined) assert.ok(helperPeak < 16 * 1024 ** 2, `the helper peaked at ${Math.round(helperPeak / 1024 ** 2)} MiB`);
    });
  });
}

test('auto picks the native helper when it is built, the fallback when not; native insists; node forces', () => {
  assert.deepEqual(resolveSpawner('auto'), { kind: 'native' });
  assert.deepEqual(resolveSpawner('auto', '/no-such-dir/coyotes-spawner'), {
    kind: 'node',
    reason: '/no-such-dir/coyotes-spawner is not built (no C compiler at install?)',
  });
  assert.throws(() => resolveSpawner('native', '/no-such-dir/coyotes-spawner'), { code: 'COY_ERR_CONFIG_INVALID' });
  assert.equal(resolveSpawner('node').kind, 'node');
});

describe('the native helper, supervised', () => {
  test('SIGKILLed mid-run: every command of its session is SIGKILLed and the death reported', async () => {
    let died: string | undefined;
    const spawner = new NativeSpawner(NATIVE_SPAWNER_BINARY, (reason) => (died = reason));
    const file = path.join(root, 'tree-helper-killed');
    void run(spawner, spec('/bin/sh', [FORKS_GRANDCHILDREN, file])).done;
    const pids = await treePids(file);
    leftovers.push(...pids);
    process.kill(spawner.pid!, 'SIGKILL');
    await waitFor('the death to be reported', () => died);
    assert.equal(died, 'exited with SIGKILL');
    await allGone(pids);
    // and it says so to whoever still asks
    const late = await run(spawner, spec('true', [])).done;
    assert.equal(late.outcome, 'spawn-error');
  });

  test('its channel process SIGKILLed: the helper kills every command group and exits', async () => {
    const file = path.join(root, 'tree-owner-killed');
    const script = [
      `import { Execution, NativeSpawner, NATIVE_SPAWNER_BINARY } from ${JSON.stringify(path.resolve(import.meta.dirname, '../dist/index.js'))};`,
      `import { newChannelConfig } from '@coyotes/protocol';`,
      `const spawner = new NativeSpawner(NATIVE_SPAWNER_BINARY);`,
      `const spec = { id: 'x', channel: 'default', name: 'x', command: { name: '/bin/sh', args: [${JSON.stringify(FORKS_GRANDCHILDREN)}, ${JSON.stringify(file)}] }, createdAt: 0, source: 'http' };`,
      `const ex = new Execution(spec, newChannelConfig('default', 1), { commandRoot: '/tmp', killGraceMs: 100, outputTailBytes: 10, host: 'h', nodeId: 'n', spawner }, { info() {} });`,
      `console.log(spawner.pid); setInterval(() => undefined, 1000);`,
    ].join('\n');
    const { spawn } = await import('node:child_process');
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let printed = '';
    owner.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const pids = await treePids(file, 20_000);
    leftovers.push(...pids);
    const helper = Number(await waitFor('the helper pid', () => printed.trim()));
    owner.kill('SIGKILL');
    await allGone([...pids, helper]);
  });
});
