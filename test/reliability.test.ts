import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-reliability-'));

async function withServer(
  body: (redis: TestRedis, coyotes: RunningCoyotes) => Promise<void>,
  options: { args?: string[]; redisArgs?: string[]; quiet?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  const redis = await startRedis(options.redisArgs);
  let coyotes: RunningCoyotes | undefined;
  try {
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: options.args, quiet: options.quiet, env: options.env });
    await body(redis, coyotes);
  } finally {
    await coyotes?.stop('SIGKILL');
    await redis.stop();
  }
}

const finished = (coyotes: RunningCoyotes, id: string, timeoutMs = 20_000) =>
  waitFor(
    `task ${id} to finish`,
    async () => {
      const { json } = await api(coyotes.baseUrl, 'GET', `/tasks/${id}`);
      return ['succeeded', 'failed'].includes(json.data?.status) ? json.data : undefined;
    },
    timeoutMs,
    100,
  );

const runnerPids = (master: number): number[] =>
  execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(master)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter((line) => line.includes('runner/dist/child.js'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));

describe('graceful paths: 50 commands of 3 s, then a signal', () => {
  for (const signal of ['SIGUSR2', 'SIGTERM', 'SIGINT'] as const) {
    test(`${signal}: all 50 complete and are recorded, none starts after, exit 0, the rest stays queued`, async () => {
      const redis = await startRedis();
      const coyotes = await startCoyotes({ redisAddr: redis.addr });
      try {
        const dir = mkdtempSync(path.join(work, `${signal}-`));
        mkdirSync(`${dir}/started`);
        mkdirSync(`${dir}/done`);
        await api(coyotes.baseUrl, 'POST', '/channels', { name: 'bulk', worker: '50' });
        for (let i = 0; i < 60; i += 1) {
          const { status } = await api(coyotes.baseUrl, 'POST', '/channels/bulk/tasks', {
            command: '/bin/sh',
            args: ['-c', `touch ${dir}/started/${i}; sleep 3; touch ${dir}/done/${i}`],
          });
          assert.equal(status, 200);
        }
        await waitFor('50 commands running', () => readdirSync(`${dir}/started`).length === 50, 20_000);
        coyotes.process.kill(signal);
        const status = await coyotes.exited;
        assert.deepEqual(status, { code: 0, signal: null });
        assert.equal(readdirSync(`${dir}/done`).length, 50, 'all 50 completed');
        assert.equal(readdirSync(`${dir}/started`).length, 50, 'none started after the signal');
        assert.equal(await redis.client.hget(keys.channel('bulk').stats, 'succeeded'), '50', 'all 50 recorded');
        assert.equal(await redis.client.llen(keys.channel('bulk').queued), 10, 'the remainder stays queued');
        assert.equal(await redis.client.hlen(keys.channel('bulk').running), 0);
      } finally {
        await coyotes.stop('SIGKILL');
        await redis.stop();
      }
    });
  }
});

describe('hostile input', () => {
  test('a bounded fuzz of the ingress list: bad entries are dead-lettered, valid ones run, nothing crashes', async () => {
    await withServer(async (redis, coyotes) => {
      const dir = mkdtempSync(path.join(work, 'fuzz-'));
      let seed = 1234;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const junk = (n: number) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(random() * 0xffff))).join('');
      const invalid = [
        () => junk(1 + Math.floor(random() * 200)),
        () => JSON.stringify(Math.floor(random() * 1000)),
        () => JSON.stringify([junk(5)]),
        () => JSON.stringify({ chan: 'default' }),
        () => JSON.stringify({ task: '', chan: 'default' }),
        () => JSON.stringify({ task: 12, chan: 'default' }),
        () => JSON.stringify({ task: 'true', chan: ['default'] }),
        () => JSON.stringify({ task: 'true', chan: `no-such-${junk(3)}` }),
        () => JSON.stringify({ task: 'true', execute_at: 'tomorrow' }),
        () => JSON.stringify({ command: { name: 'true', args: 'x' } }),
        () => JSON.stringify({ id: `../${junk(4)}`, task: 'true' }),
        () => JSON.stringify({ task: { cmdline: '' } }),
        () => '{"task":"true"' + junk(3),
        () => '\u0000\u0000',
      ];
      const entries: string[] = [];
      let valid = 0;
      for (let i = 0; i < 300; i += 1) {
        if (i % 6 === 0) {
          entries.push(JSON.stringify({ task: `touch ${dir}/valid-${valid}`, chan: 'default', ts: i }));
          valid += 1;
        } else {
          entries.push(invalid[Math.floor(random() * invalid.length)]!());
        }
      }
      await redis.client.lpush(keys.prepareQueue, ...entries);
      await waitFor('every valid entry to run', () => readdirSync(dir).length === valid, 20_000);
      const { json } = await api(coyotes.baseUrl, 'GET', '/dead-letters?limit=1000');
      assert.equal(json.data.count, 300 - valid, 'each bad entry is dead-lettered once');
      assert.ok(json.data.items.every((item: { reason: string }) => item.reason.length > 0));
      assert.equal((await fetch(`${coyotes.baseUrl}/health`)).status, 200, 'still serving');
    });
  });

  test('secrets never appear in logs, API output or commands’ environment', async () => {
    const password = 'redis-s3cret-7431';
    const token = 'http-t0ken-9926';
    await withServer(
      async (_redis, coyotes) => {
        const auth = { authorization: `Bearer ${token}` };
        const envFile = path.join(work, 'command-env');
        assert.equal((await api(coyotes.baseUrl, 'GET', '/channels')).status, 401);
        const { json } = await api(
          coyotes.baseUrl,
          'POST',
          '/channels/default/tasks',
          { command: '/bin/sh', args: ['-c', `env > ${envFile}`] },
          auth,
        );
        await finished({ ...coyotes, baseUrl: coyotes.baseUrl } as RunningCoyotes, json.data.task_id).catch(() => undefined);
        await waitFor('the env dump', () => existsSync(envFile) && readFileSync(envFile, 'utf8').includes('PATH='));
        const outputs = [coyotes.output(), readFileSync(envFile, 'utf8')];
        for (const route of ['/health', '/nodes', '/channels', `/tasks/${json.data.task_id}`, '/status']) {
          outputs.push(JSON.stringify((await api(coyotes.baseUrl, 'GET', route, undefined, auth)).json));
        }
        for (const text of outputs) {
          assert.ok(!text.includes(password), 'the Redis password leaked');
          assert.ok(!text.includes(token), 'the HTTP token leaked');
        }
      },
      {
        redisArgs: ['--requirepass', password],
        args: ['-redis-password', password],
        env: { COYOTES_HTTP_TOKEN: token },
      },
    );
  });

  test('a command printing 1 GB keeps bounded tails and the channel process keeps bounded memory', { timeout: 180_000 }, async () => {
    await withServer(
      async (_redis, coyotes) => {
        const { json } = await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', {
          command: '/bin/sh',
          args: ['-c', "head -c 1073741824 /dev/zero | tr '\\0' a; echo; echo tail-marker; head -c 1048576 /dev/zero >&2"],
        });
        const task = await finished(coyotes, json.data.task_id, 170_000);
        assert.equal(task.status, 'succeeded');
        assert.ok(task.result.stdout_tail.length <= 4096, `stdout tail is ${task.result.stdout_tail.length} bytes`);
        assert.ok(task.result.stdout_tail.endsWith('a\ntail-marker\n'));
        assert.ok(Buffer.byteLength(task.result.stderr_tail) <= 4096);
        for (const pid of runnerPids(coyotes.pid)) {
          const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
          console.log(`channel process ${pid}: peak RSS ${Math.round(peakKb / 1024)} MB after 1 GB of output`);
          assert.ok(peakKb < 300 * 1024, `channel process ${pid} peaked at ${Math.round(peakKb / 1024)} MB`);
        }
      },
      { quiet: true },
    );
  });

  test('a fork bomb and a runaway allocation are killed by their timeout; the channel process survives', async () => {
    await withServer(async (_redis, coyotes) => {
      const pids = path.join(work, 'bomb-pids');
      const before = runnerPids(coyotes.pid).sort();
      // bounded on purpose (this machine is shared): 20 children each forking 10 sleepers
      const bomb = `for i in $(seq 20); do (for j in $(seq 10); do sleep 300 & echo $! >> ${pids}; done; wait) & done; wait`;
      const hog =
        'a=""; while true; do a="$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$a$ax"; done';
      const [first, second] = await Promise.all(
        [bomb, hog].map(
          async (script) =>
            (await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { command: '/bin/sh', args: ['-c', script], timeout: '2' })).json
              .data.task_id,
        ),
      );
      for (const id of [first, second]) {
        const task = await finished(coyotes, id);
        assert.equal(task.result.outcome, 'timed-out');
      }
      const spawned = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      assert.equal(spawned.length, 200);
      await waitFor('every forked process to be gone', () => spawned.every((pid) => !existsSync(`/proc/${pid}`)));
      assert.deepEqual(runnerPids(coyotes.pid).sort(), before, 'no channel process died or restarted');
      const after = path.join(work, 'after-bomb');
      await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { task: `touch ${after}` });
      await waitFor('a task after the bomb', () => existsSync(after));
    });
  });

  test('cwd is confined to the command root: ../ and symlink escapes are refused', async () => {
    const root = mkdtempSync(path.join(work, 'root-'));
    mkdirSync(path.join(root, 'jobs'));
    symlinkSync('/etc', path.join(root, 'escape'));
    await withServer(
      async (_redis, coyotes) => {
        const push = async (cwd: string, out: string) =>
          (await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { command: '/bin/sh', args: ['-c', `pwd > ${out}`], cwd })).json
            .data.task_id;
        const inside = path.join(work, 'cwd-inside');
        const ok = await finished(coyotes, await push('jobs', inside));
        assert.equal(ok.status, 'succeeded');
        assert.equal(readFileSync(inside, 'utf8').trim(), realpathSync(path.join(root, 'jobs')));
        // refused at the door: a 400 naming the field, nothing queued
        for (const cwd of ['..', '../..', 'jobs/../..', 'escape', '/etc']) {
          const refused = await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', {
            command: '/bin/sh',
            args: ['-c', `pwd > ${path.join(work, 'cwd-never')}`],
            cwd,
          });
          assert.equal(refused.status, 400, `cwd ${cwd}`);
          assert.match(refused.json.message, /outside the command root/);
        }
        assert.ok(!existsSync(path.join(work, 'cwd-never')), 'no escaping command ran');
      },
      { args: ['-command-root', root] },
    );
  });
});
