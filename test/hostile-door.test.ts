import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCodes } from '../packages/protocol/src/errors.js';
import type { ErrorCode } from '../packages/protocol/src/errors.js';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { ENCODINGS, send } from './helpers/encodings.js';
import { keys } from './helpers/keys.js';
import { fuzzSeed, random } from './helpers/random.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

/**
 * Hostile input at every door (the HTTP push routes and the prepare queue) while an innocent
 * long task runs on the same channel: each hostile push is a 4xx with a code naming the field, or
 * a dead letter with its reason, or a task that fails on its own; the innocent task runs once and
 * succeeds, and the channel process is never replaced.
 */

const BODY_LIMIT = 8 * 1024 * 1024;
const work = mkdtempSync(path.join(tmpdir(), 'coyotes-hostile-'));
const root = path.join(work, 'root');
mkdirSync(path.join(root, 'inside'), { recursive: true });

type Reply = Awaited<ReturnType<typeof api>>;

/** Sends a JSON body (values of any type, as a hostile producer would). */
const post = (base: string, route: string, body: unknown): Promise<Reply> =>
  api(base, 'POST', route, JSON.stringify(body), { 'content-type': 'application/json' });

function refusedWith(reply: Reply, code: ErrorCode, message: RegExp, what: string): void {
  assert.equal(reply.status, 400, `${what}: ${reply.status} ${reply.json.message}`);
  assert.deepEqual(Object.keys(reply.json), ['status_code', 'message', 'data']);
  assert.equal(reply.code, code, `${what}: ${reply.json.message}`);
  assert.match(reply.json.message, message, what);
}

/** Bytes an exec string takes against ARG_MAX: UTF-8 bytes, NUL, pointer. */
const execBytes = (arg: string) => Buffer.byteLength(arg) + 1 + 8;

describe('hostile tasks at the door, beside an innocent one', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let base: string;
  let channelPid: number;
  let innocentId: string;
  const release = path.join(work, 'release');
  const starts = path.join(work, 'innocent-starts');

  const channelProcess = async () => (await api(base, 'GET', '/health')).json.data.processes.channels.hostile;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({
      redisAddr: redis.addr,
      args: ['-concurrent', '3', '-http-body-limit', String(BODY_LIMIT), '-command-root', root],
    });
    base = coyotes.baseUrl;
    assert.equal((await api(base, 'POST', '/channels', { name: 'hostile', worker: '3' })).status, 200);
    // long and innocent: runs until the test releases it, counting its starts
    const innocent = await post(base, '/channels/hostile/tasks', {
      command: 'sh',
      args: [
        '-c',
        `echo start >> ${starts}; i=0; while [ ! -e ${release} ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i+1)); done; echo innocent`,
      ],
    });
    assert.equal(innocent.status, 200);
    innocentId = innocent.json.data.task_id;
    await waitFor('the innocent task to run', async () => (await api(base, 'GET', `/tasks/${innocentId}`)).json.data.status === 'running');
    const process = await waitFor('the channel process', async () => (await channelProcess())?.alive && (await channelProcess()));
    channelPid = process.pid;
  });

  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test("the issue's example: a 5000-character one-word task is refused (400), not accepted to kill the channel", async () => {
    const word = 'a'.repeat(5000);
    for (const encoding of ENCODINGS) {
      refusedWith(
        await send(base, 'POST', '/channels/hostile/tasks', { task: word }, encoding),
        'COY_ERR_TASK_TOO_LARGE',
        /^task: program name longer than 255 bytes \(NAME_MAX\)/,
        `/tasks ${encoding}`,
      );
      refusedWith(await send(base, 'POST', '/channels/hostile', { task: word }, encoding), 'COY_ERR_TASK_TOO_LARGE', /NAME_MAX/, encoding);
      refusedWith(
        await send(base, 'POST', '/push', { task: word, channel: 'hostile' }, encoding),
        'COY_ERR_TASK_TOO_LARGE',
        /NAME_MAX/,
        encoding,
      );
      refusedWith(
        await send(base, 'POST', '/channels/hostile/tasks', { command: `/${'b'.repeat(300)}/x` }, encoding),
        'COY_ERR_TASK_TOO_LARGE',
        /^command: program name longer than 255 bytes/,
        encoding,
      );
    }
    refusedWith(
      await post(base, '/channels/hostile/tasks', { command: '/a'.repeat(2100) }),
      'COY_ERR_TASK_TOO_LARGE',
      /^command: program path longer than 4095 bytes \(PATH_MAX\)/,
      'PATH_MAX',
    );
  });

  test('one argument over MAX_ARG_STRLEN, argv over ARG_MAX, an env entry over MAX_ARG_STRLEN: 400 naming the field', async () => {
    const big = 'x'.repeat(140 * 1024);
    refusedWith(
      await post(base, '/channels/hostile/tasks', { command: 'echo', args: ['ok', big] }),
      'COY_ERR_TASK_TOO_LARGE',
      /^args\[1\]: one argument of 143360 bytes is over the limit of 131071 \(MAX_ARG_STRLEN\)/,
      'one arg',
    );
    refusedWith(
      await post(base, '/channels/hostile/tasks', { task: `echo ${big}` }),
      'COY_ERR_TASK_TOO_LARGE',
      /^task: one argument/,
      'one word of a line',
    );
    refusedWith(
      await post(base, '/channels/hostile/tasks', { task: 'echo', command: 'echo', env: { BIG: big } }),
      'COY_ERR_TASK_TOO_LARGE',
      /^env\.BIG: .*MAX_ARG_STRLEN/,
      'env entry',
    );
    const many = Array.from({ length: 30 }, () => 'y'.repeat(100_000));
    refusedWith(
      await post(base, '/channels/hostile/tasks', { command: 'echo', args: many }),
      'COY_ERR_TASK_TOO_LARGE',
      /^command and args: \d+ bytes with the environment, over this host's exec limit of \d+ \(ARG_MAX\)/,
      'argv total',
    );
    const envs = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`V${i}`, 'z'.repeat(100_000)]));
    refusedWith(
      await post(base, '/channels/hostile/tasks', { command: 'echo', env: envs }),
      'COY_ERR_TASK_TOO_LARGE',
      /^command and args and env: .*ARG_MAX/,
      'env total',
    );
  });

  test('cwd outside -command-root or missing, NUL bytes, unsplittable lines, empty programs: 400 COY_ERR_TASK_INVALID', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ task: 'pwd', cwd: '/etc' }, /^cwd \/etc lies outside the command root/],
      [{ task: 'pwd', cwd: '../..' }, /^cwd \.\.\/\.\. lies outside the command root/],
      [{ task: 'pwd', cwd: 'missing/dir' }, /^cwd missing\/dir does not exist/],
      [{ task: 'pwd', env: { A: 'x\u0000y' } }, /^env\.A must not contain NUL bytes/],
      [{ task: "echo 'unbalanced" }, /^task: cannot split command line/],
      [{ task: "''" }, /^task: empty program name/],
    ];
    for (const [body, message] of cases)
      refusedWith(await post(base, '/channels/hostile/tasks', body), 'COY_ERR_TASK_INVALID', message, JSON.stringify(body));
    refusedWith(await post(base, '/channels/hostile', { task: 'echo "open' }), 'COY_ERR_TASK_INVALID', /cannot split/, 'short route');
    refusedWith(await post(base, '/push', { task: 'echo "open', channel: 'hostile' }), 'COY_ERR_TASK_INVALID', /cannot split/, '/push');
    // inside the root it is accepted and runs there
    const inside = await post(base, '/channels/hostile/tasks', { task: 'pwd', cwd: 'inside' });
    assert.equal(inside.status, 200);
    await waitFor(
      'pwd inside the root',
      async () => (await api(base, 'GET', `/tasks/${inside.json.data.task_id}`)).json.data.status === 'succeeded',
    );
    const done = await api(base, 'GET', `/tasks/${inside.json.data.task_id}`);
    assert.equal(done.json.data.result.stdout_tail.trim(), path.join(root, 'inside'));
  });

  test('non-string task and env values, unknown fields, delay out of range: 400 COY_ERR_REQUEST_INVALID', async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['/channels/hostile/tasks', { task: { nested: true } }, /^task must be a string/],
      ['/channels/hostile/tasks', { task: true }, /^task must be a string/],
      ['/channels/hostile', { task: { a: 1 } }, /^task must be a string/],
      ['/push', { task: false, channel: 'hostile' }, /^task must be a string/],
      ['/channels/hostile/tasks', { task: 'date', env: { A: { b: 1 } } }, /^env\.A must be a string/],
      ['/channels/hostile/tasks', { task: 'date', env: { A: null } }, /^env\.A must be a string/],
      ['/channels/hostile/tasks', { task: 'date', env: { A: ['x'] } }, /^env\.A must be a string/],
      ['/channels/hostile/tasks', { task: 'date', comand: 'rm' }, /^unknown field "comand" \(this route takes task, command, args/],
      ['/channels/hostile', { task: 'date', command: 'rm' }, /^unknown field "command" \(this route takes task\)/],
      ['/push', { task: 'date', channel: 'hostile', chanel: 'x' }, /^unknown field "chanel" \(this route takes task, channel\)/],
      ['/channels/hostile/tasks', { task: 'date', delay: -5 }, /^delay must be a non-negative integer/],
      ['/channels/hostile/tasks', { task: 'date', delay: 1e12 }, /^delay must be at most ten years/],
      ['/channels/hostile/tasks', { task: 'date', delay: Date.now() * 1000 }, /^delay must be/],
    ];
    for (const [route, body, message] of cases)
      refusedWith(await post(base, route, body), 'COY_ERR_REQUEST_INVALID', message, `${route} ${JSON.stringify(body)}`);
    // the seed's own fields and Coyotes' documented ones are all still taken
    const full = await send(
      base,
      'POST',
      '/channels/hostile/tasks',
      {
        task: 'full',
        command: 'true',
        args: ['a', 'b'],
        delay: '0',
        id: 'full-1',
        timeout: '60',
        max_retries: '0',
        cwd: 'inside',
        'env[X]': '1',
      },
      'multipart',
    );
    assert.equal(full.status, 200, full.json.message);
    assert.equal((await post(base, '/push', { task: 'true', channel: 'hostile' })).status, 200);
    assert.equal((await post(base, '/channels/hostile', { task: 'true' })).status, 200);
  });

  test('the prepare queue dead-letters what can never run, with the reason; GET /delay-tasks stays 200', async () => {
    const entries: [unknown, RegExp][] = [
      [{ task: 'a'.repeat(5000), chan: 'hostile' }, /^task: program name longer than 255 bytes \(NAME_MAX\)/],
      [
        { task: 'echo', command: { name: 'echo', args: ['x'.repeat(140 * 1024)] }, chan: 'hostile' },
        /^args\[0\]: one argument .*MAX_ARG_STRLEN/,
      ],
      [
        { task: 'date', chan: 'hostile', execute_at: Date.now() * 1000 },
        /^execute_at must be a unix timestamp in seconds, at most ten years ahead/,
      ],
      [{ task: 'date', chan: 'hostile', execute_at: -1 }, /^execute_at must be/],
      [{ task: 'date', chan: 'hostile', bogus: 1 }, /^unknown field "bogus"/],
      [{ task: 'date', chan: 'hostile', command: { name: 'date', argz: [] } }, /^unknown field command\."argz"/],
      [{ task: 123, chan: 'hostile' }, /^task must be a string/],
      [{ task: "echo 'open", chan: 'hostile' }, /^task: cannot split command line/],
      [
        { id: 'tj-1', tube: 'hostile', task: { cmdline: 'sleep', cmd_args: ['1'], timeout: 1e12 } },
        /^task\.timeout must be a number of seconds, at most 2592000/,
      ],
      [{ id: 'tj-2', tube: 'hostile', task: { cmdline: 'true', retries: 3 } }, /^unknown field task\."retries"/],
    ];
    const before = (await api(base, 'GET', '/dead-letters?limit=1000')).json.data.count as number;
    for (const [entry] of entries) await redis.client.lpush(keys.prepareQueue, JSON.stringify(entry));
    const letters = await waitFor('every entry dead-lettered', async () => {
      const { json } = await api(base, 'GET', '/dead-letters?limit=1000');
      return json.data.count >= before + entries.length && (json.data.items as { reason: string; payload: string }[]);
    });
    for (const [entry, reason] of entries) {
      const letter = letters.find((item) => item.payload === JSON.stringify(entry));
      assert.ok(letter, `no dead letter for ${JSON.stringify(entry).slice(0, 100)}`);
      assert.match(letter.reason, reason);
    }
    // a seed-shaped entry (task, chan, ts) and a task-job one still run
    await redis.client.lpush(keys.prepareQueue, JSON.stringify({ task: `touch ${path.join(work, 'seed-entry')}`, chan: 'hostile', ts: 1 }));
    await redis.client.lpush(
      keys.prepareQueue,
      JSON.stringify({
        id: 'tj-ok',
        type: 'start',
        tube: 'hostile',
        task: { cmdline: 'touch', cmd_args: [path.join(work, 'tj-entry')], timeout: 5 },
      }),
    );
    await waitFor('the valid entries to run', () => existsSync(path.join(work, 'seed-entry')) && existsSync(path.join(work, 'tj-entry')));
    const delayed = await api(base, 'GET', '/delay-tasks');
    assert.equal(delayed.status, 200, delayed.json.message);
  });

  test('fuzz: argv sizes around the limits (just under is accepted and runs, just over is refused), random bytes in every field', async () => {
    const seed = fuzzSeed();
    const rng = random(seed);
    const context = `fuzz seed ${seed} (COYOTES_FUZZ_SEED=${seed} replays it)`;
    const finished = async (id: string) =>
      waitFor(
        `task ${id} to finish`,
        async () => {
          const { json } = await api(base, 'GET', `/tasks/${id}`);
          return ['succeeded', 'failed'].includes(json.data?.status) && json.data;
        },
        60_000,
      );

    // one argument: exactly MAX_ARG_STRLEN - 1 bytes runs and arrives whole; one more is refused
    const longest = 128 * 1024 - 1;
    const under = longest - rng.int(3);
    const one = await post(base, '/channels/hostile/tasks', {
      command: 'sh',
      args: ['-c', 'printf %s "$1" | wc -c', 'sh', 'q'.repeat(under)],
    });
    assert.equal(one.status, 200, `${context}: ${one.json.message}`);
    const ran = await finished(one.json.data.task_id);
    assert.equal(ran.status, 'succeeded', context);
    assert.equal(ran.result.stdout_tail.trim(), String(under), context);
    const over = await post(base, '/channels/hostile/tasks', {
      command: 'sh',
      args: ['-c', 'true', 'sh', 'q'.repeat(longest + 1 + rng.int(3))],
    });
    refusedWith(over, 'COY_ERR_TASK_TOO_LARGE', /MAX_ARG_STRLEN/, context);

    // the program name: NAME_MAX bytes passes the door (and fails on its own: no such program), one more does not
    const named = await post(base, '/channels/hostile/tasks', { command: 'n'.repeat(255) });
    assert.equal(named.status, 200, `${context}: ${named.json.message}`);
    const missing = await finished(named.json.data.task_id);
    assert.equal(missing.status, 'failed', context);
    assert.equal(missing.result.outcome, 'spawn-error', context);
    refusedWith(await post(base, '/channels/hostile/tasks', { command: 'n'.repeat(256) }), 'COY_ERR_TASK_TOO_LARGE', /NAME_MAX/, context);

    // the whole argv: the server's refusal tells the room left beside its environment; exactly
    // that room is accepted and runs, one byte more is refused
    const head = ['sh', '-c', 'echo $#', 'sh'];
    const chunks = (room: number): string[] => {
      const args: string[] = [];
      let left = room - head.reduce((sum, arg) => sum + execBytes(arg), 0);
      while (left > 0) {
        const size = Math.min(left - 9, 60_000 + rng.int(60_000));
        if (size < 0) break;
        args.push('w'.repeat(size));
        left -= size + 9;
      }
      assert.equal(left, 0, `${context}: could not fill the room exactly`);
      return args;
    };
    const tooMany = Array.from({ length: 40 }, () => 'w'.repeat(100_000));
    const probe = await post(base, '/channels/hostile/tasks', { command: 'sh', args: [...head.slice(1), ...tooMany] });
    refusedWith(probe, 'COY_ERR_TASK_TOO_LARGE', /ARG_MAX/, context);
    const [, total, limit] = /^command and args: (\d+) bytes with the environment, over this host's exec limit of (\d+)/.exec(
      probe.json.message,
    )!;
    const sent = [...head, ...tooMany].reduce((sum, arg) => sum + execBytes(arg), 0);
    const room = Number(limit) - (Number(total) - sent);
    assert.ok(room > 1_000_000, `${context}: room ${room}`);
    const fits = chunks(room);
    const full = await post(base, '/channels/hostile/tasks', { command: 'sh', args: [...head.slice(1), ...fits] });
    assert.equal(full.status, 200, `${context}: ${full.json.message}`);
    const fullRun = await finished(full.json.data.task_id);
    assert.equal(fullRun.status, 'succeeded', `${context}: ${JSON.stringify(fullRun.result)}`);
    assert.equal(fullRun.result.stdout_tail.trim(), String(fits.length), context);
    const overfull = [...fits];
    overfull[overfull.length - 1] += 'w';
    refusedWith(
      await post(base, '/channels/hostile/tasks', { command: 'sh', args: [...head.slice(1), ...overfull] }),
      'COY_ERR_TASK_TOO_LARGE',
      /ARG_MAX/,
      context,
    );

    // random bytes in every field, over HTTP and the prepare queue: a 4xx with a registered
    // code, or an accepted task that ends on its own; never a 5xx
    const bytes = (length: number) => String.fromCharCode(...Array.from({ length }, () => rng.int(0x10000)));
    const fieldNames = ['task', 'command', 'args', 'delay', 'id', 'timeout', 'max_retries', 'cwd', 'env', 'callback', 'script', bytes(8)];
    const accepted: string[] = [];
    const failures: string[] = [];
    for (let i = 0; i < 60; i += 1) {
      const field = rng.pick(fieldNames);
      const value = rng.int(4) === 0 ? { [bytes(4)]: bytes(rng.int(50)) } : rng.int(3) === 0 ? [bytes(rng.int(50))] : bytes(rng.int(300));
      const body = { task: `echo fuzz-${i}`, [field]: value };
      const reply = await post(base, '/channels/hostile/tasks', body);
      if (reply.status === 200) {
        if (reply.json.data.result) accepted.push(reply.json.data.task_id);
      } else if (reply.status >= 500 || !(reply.code === null ? reply.status !== 400 : reply.code in ErrorCodes)) {
        failures.push(`${field}: ${reply.status} ${reply.code} ${reply.json.message}`);
      }
      await redis.client.lpush(keys.prepareQueue, rng.int(2) ? bytes(rng.int(200)) : JSON.stringify({ ...body, chan: 'hostile' }));
    }
    assert.deepEqual(failures, [], context);
    await waitFor('the prepare queue to drain', async () => (await redis.client.llen(keys.prepareQueue)) === 0, 30_000);
    for (const id of accepted) {
      const { json } = await api(base, 'GET', `/tasks/${id}`);
      if (json.data.status === 'delayed') continue;
      const done = await finished(id);
      assert.ok(done.result.outcome, `${context}: ${id} has no outcome`);
    }
  });

  test('after all of it: the innocent task ran once and succeeded, and the channel process was never replaced', async () => {
    const process = await channelProcess();
    assert.equal(process.pid, channelPid);
    assert.equal(process.restarts, 0);
    writeFileSync(release, '');
    const done = await waitFor(
      'the innocent task to finish',
      async () => {
        const { json } = await api(base, 'GET', `/tasks/${innocentId}`);
        return ['succeeded', 'failed'].includes(json.data.status) && json.data;
      },
      30_000,
    );
    assert.equal(done.status, 'succeeded');
    assert.equal(done.retry_count, 0);
    assert.equal(done.result.stdout_tail, 'innocent\n');
    assert.equal(readFileSync(starts, 'utf8'), 'start\n');
    assert.equal((await channelProcess()).pid, channelPid);
  });
});
