import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { freePort } from './helpers/ports.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

/**
 * Tasks that can never run, written straight into a channel's Redis keys (past every door, as an
 * older version, a hand-made entry or a bug would leave them), run one after the other beside a
 * long innocent task: each must fail alone with a reason, the innocent task must run once and
 * succeed, and the channel process must never die.
 */
const root = mkdtempSync(path.join(tmpdir(), 'coyotes-hostile-'));
const CHANNEL = 'crash';
const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

let redis: TestRedis;
let coyotes: RunningCoyotes;
let injected = 0;

/** Puts a stored task spec (any JSON, or any string) straight into the channel's queue. */
async function inject(stored: Record<string, unknown> | string): Promise<string> {
  injected += 1;
  const id = `hostile-${injected}`;
  const json = typeof stored === 'string' ? stored : JSON.stringify({ createdAt: Date.now(), source: 'prepare-queue', ...stored });
  const k = keys.channel(CHANNEL);
  await redis.client.hset(k.tasks, id, json);
  await redis.client.lpush(k.queued, id);
  await redis.client.lpush(k.marker, '1');
  return id;
}

async function taskData(id: string): Promise<any> {
  return (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data;
}

/** Waits for the task to end failed with a spawn error; answers its result. */
async function spawnError(id: string): Promise<{ exit_code: number | null; error: string; outcome: string }> {
  const data = await waitFor(`${id} to fail`, async () => {
    const task = await taskData(id);
    return task?.status === 'failed' ? task : undefined;
  });
  assert.equal(data.result.outcome, 'spawn-error', `${id}: ${JSON.stringify(data.result)}`);
  assert.equal(data.retry_count, 0);
  return data.result;
}

async function channelProcess(): Promise<{ pid: number; restarts: number }> {
  const { json } = await api(coyotes.baseUrl, 'GET', `/channels/${CHANNEL}`);
  return json.data.process;
}

describe('hostile tasks at run time, beside an innocent one', () => {
  const runs = path.join(root, 'innocent.runs');
  const go = path.join(root, 'innocent.go');
  let innocentId: string;
  let pid: number;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-command-root', root] });
    const created = await api(coyotes.baseUrl, 'POST', '/channels', { name: CHANNEL, worker: '2' });
    assert.equal(created.status, 200);
    const { json } = await api(coyotes.baseUrl, 'POST', `/channels/${CHANNEL}/tasks`, {
      command: '/bin/sh',
      // runs until the test says go (bounded: 10 min), logging each start
      args: ['-c', `echo run >> ${runs}; i=0; while [ ! -e ${go} ] && [ $i -lt 6000 ]; do sleep 0.1; i=$((i+1)); done; echo innocent`],
      task: 'innocent',
    });
    innocentId = json.data.task_id;
    await waitFor('the innocent task to start', () => lines(runs).length === 1);
    pid = (await waitFor('the channel process', channelProcess)).pid;
  });

  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  const cases: {
    name: string;
    stored: () => Record<string, unknown> | string;
    exitCode: number;
    reason: RegExp;
    /** Undoes what `stored` changed around the task. */
    after?: () => void;
  }[] = [
    {
      name: 'a 5,000-character program name (ENAMETOOLONG)',
      stored: () => ({ name: 'a'.repeat(5000) }),
      exitCode: 127,
      reason: /ENAMETOOLONG/,
    },
    {
      name: 'one argument over MAX_ARG_STRLEN (E2BIG)',
      stored: () => ({ name: 'echo big', command: { name: 'echo', args: ['x'.repeat(140 * 1024)] } }),
      exitCode: 127,
      reason: /E2BIG/,
    },
    {
      name: 'argv over ARG_MAX (E2BIG)',
      stored: () => ({ name: 'echo many', command: { name: 'echo', args: Array.from({ length: 40 }, () => 'y'.repeat(100 * 1024)) } }),
      exitCode: 127,
      reason: /E2BIG/,
    },
    {
      name: 'a NUL byte in an argument',
      stored: () => ({ name: 'echo nul', command: { name: 'echo', args: ['a\u0000b'] } }),
      exitCode: 127,
      reason: /null bytes/,
    },
    {
      name: 'a NUL byte in an environment variable',
      stored: () => ({ name: 'env nul', command: { name: 'env', args: [] }, env: { 'A\u0000B': 'x' } }),
      exitCode: 127,
      reason: /null bytes/,
    },
    {
      name: 'a program that does not exist (ENOENT)',
      stored: () => ({ name: '/nonexistent/program' }),
      exitCode: 127,
      reason: /nonexistent\/program.*ENOENT/,
    },
    {
      name: 'a program without the execute bit (EACCES)',
      stored: () => {
        writeFileSync(path.join(root, 'not-executable'), 'echo hi\n', { mode: 0o644 });
        return { name: path.join(root, 'not-executable') };
      },
      exitCode: 126,
      reason: /permission denied \(EACCES\)/,
    },
    { name: 'a directory as the program (EACCES)', stored: () => ({ name: root }), exitCode: 126, reason: /EACCES/ },
    {
      name: 'a cwd that is a file (ENOTDIR)',
      stored: () => {
        writeFileSync(path.join(root, 'a-file'), '');
        return { name: 'pwd', cwd: 'a-file' };
      },
      exitCode: 127,
      reason: /ENOTDIR/,
    },
    {
      name: 'a cwd removed after acceptance',
      stored: () => {
        mkdirSync(path.join(root, 'vanishing'));
        rmSync(path.join(root, 'vanishing'), { recursive: true });
        return { name: 'pwd', cwd: 'vanishing' };
      },
      exitCode: 127,
      reason: /cwd vanishing does not exist/,
    },
    { name: 'a stored entry that is not JSON', stored: () => '{"name": "echo', exitCode: 127, reason: /not valid JSON/ },
    { name: 'a name that is not a string', stored: () => ({ name: 42 }), exitCode: 127, reason: /field name must be a string/ },
    {
      name: 'args that are not an array',
      stored: () => ({ name: 'echo', command: { name: 'echo', args: 'a b' } }),
      exitCode: 127,
      reason: /command\.args must be an array of strings/,
    },
    {
      name: 'env values that are not strings',
      stored: () => ({ name: 'env', env: { A: 5 } }),
      exitCode: 127,
      reason: /env must be an object of string values/,
    },
    {
      name: 'a timeout that is not a count',
      stored: () => ({ name: 'true', timeoutMs: -5 }),
      exitCode: 127,
      reason: /timeoutMs must be a non-negative integer/,
    },
    {
      name: 'a command line that cannot be split',
      stored: () => ({ name: 'echo "unclosed' }),
      exitCode: 127,
      reason: /cannot split command line/,
    },
    {
      name: 'an uploaded script that cannot be written',
      stored: () => {
        // a command root others may write in without the sticky bit: no private directory for
        // the script can be made safely there, so none is written
        chmodSync(root, 0o777);
        return {
          name: 'sh',
          command: { name: 'sh', args: [] },
          script: { name: 'job.sh', base64: Buffer.from('echo hi').toString('base64') },
        };
      },
      exitCode: 127,
      reason: /uploaded script not written: .*writable by other users without the sticky bit/,
      after: () => chmodSync(root, 0o700),
    },
  ];

  for (const hostile of cases) {
    test(`${hostile.name}: fails alone with a reason`, async () => {
      try {
        const id = await inject(hostile.stored());
        const result = await spawnError(id);
        assert.equal(result.exit_code, hostile.exitCode, result.error);
        assert.match(result.error, hostile.reason);
        assert.equal((await channelProcess()).pid, pid, 'the channel process never died');
      } finally {
        hostile.after?.();
      }
    });
  }

  test('output that is not UTF-8 is kept with replacement characters and breaks nothing', async () => {
    rmSync(path.join(root, '.coyotes-scripts'), { force: true });
    const id = await inject({ name: 'printf', command: { name: 'printf', args: ['ok \\377\\376 \\000 end\\n'] } });
    const data = await waitFor('the binary printer to succeed', async () => {
      const task = await taskData(id);
      return task?.status === 'succeeded' ? task : undefined;
    });
    assert.equal(data.result.stdout_tail, 'ok \ufffd\ufffd \u0000 end\n');
    const log = await redis.client.xrange(keys.taskLog(CHANNEL, id), '-', '+');
    assert.deepEqual(
      log.map(([, fields]) => fields[1]),
      ['stdout', 'done'],
    );
    assert.equal(log[0]![1][3], 'ok \ufffd\ufffd \u0000 end');
  });

  test('callback URLs that refuse or cannot be parsed fail that delivery with a reason; the api carries on', async () => {
    const closed = await freePort();
    const refused = (
      await api(coyotes.baseUrl, 'POST', `/channels/${CHANNEL}/tasks`, { task: 'true', callback: `http://127.0.0.1:${closed}/done` })
    ).json.data.task_id;
    // past the door: a stored callback that is no URL at all, armed as acceptance arms one
    const garbled = await inject({ name: 'true', callback: 'not a url' });
    await redis.client.zadd(keys.channel(CHANNEL).callbacks, Date.now(), garbled);
    const failure = (id: string) =>
      waitFor(`the failed delivery of ${id}`, () => coyotes.logs().find((l) => l.event === 'callback-failed' && l.taskId === id), 20_000);
    assert.match(String((await failure(refused)).reason), /ECONNREFUSED/);
    assert.match(String((await failure(garbled)).reason), /URL/i);
    for (const id of [refused, garbled]) assert.equal(await redis.client.hget(keys.channel(CHANNEL).callbackAttempts, id), '1');
    assert.equal((await fetch(`${coyotes.baseUrl}/health`)).status, 200);
    assert.equal(coyotes.logs().filter((l) => l.event === 'child-restarting').length, 0);
  });

  test('the innocent task ran once, all along, and succeeds', async () => {
    assert.equal((await taskData(innocentId)).status, 'running');
    writeFileSync(go, '');
    const data = await waitFor('the innocent task to succeed', async () => {
      const task = await taskData(innocentId);
      return task.status === 'succeeded' ? task : undefined;
    });
    assert.equal(data.result.stdout_tail, 'innocent\n');
    assert.deepEqual(lines(runs), ['run'], 'started exactly once');
    const now = await channelProcess();
    assert.equal(now.pid, pid);
    assert.equal(now.restarts, 0);
    assert.equal(coyotes.logs().filter((l) => l.event === 'child-restarting').length, 0);
  });
});

describe('a command that kills its channel process beside an innocent task', () => {
  let redis2: TestRedis;
  let server: RunningCoyotes;

  before(async () => {
    redis2 = await startRedis();
    server = await startCoyotes({ redisAddr: redis2.addr, args: ['-command-root', root] });
    assert.equal((await api(server.baseUrl, 'POST', '/channels', { name: 'killer', worker: '2' })).status, 200);
  });

  after(async () => {
    await server?.stop('SIGKILL');
    await redis2?.stop();
  });

  test('is parked as poison once it killed it alone; the innocent task is never charged and succeeds', async () => {
    const runs = path.join(root, 'bystander.runs');
    const go = path.join(root, 'bystander.go');
    const push = async (args: string[], task: string): Promise<string> =>
      (await api(server.baseUrl, 'POST', '/channels/killer/tasks', { command: '/bin/sh', args, task })).json.data.task_id;
    const innocent = await push(
      ['-c', `echo run >> ${runs}; i=0; while [ ! -e ${go} ] && [ $i -lt 6000 ]; do sleep 0.1; i=$((i+1)); done; echo innocent`],
      'bystander',
    );
    await waitFor('the innocent task to start', () => lines(runs).length === 1);
    // running (not starting) when it strikes: no death beside the innocent task can be put down to it
    const killer = await push(['-c', 'sleep 1; kill -9 $PPID'], 'killer');
    const deaths = () => server.logs().filter((l) => l.event === 'channel-requeued');
    await waitFor(
      'a second death beside the innocent task: probation',
      () => server.logs().some((l) => l.event === 'channel-probation'),
      30_000,
    );
    assert.ok(
      deaths().every((l) => (l.charged as string[]).length === 0),
      'nobody charged for deaths beside the innocent task',
    );
    assert.ok(lines(runs).length >= 2, 'the innocent task ran again after the first death (at least once)');
    writeFileSync(go, '');
    const parked = await waitFor(
      'the killer parked as poison',
      async () => {
        const { json } = await api(server.baseUrl, 'GET', `/tasks/${killer}`);
        return json.data.status === 'failed' ? json.data : undefined;
      },
      60_000,
    );
    assert.equal(parked.result.outcome, 'poison');
    const done = await waitFor(
      'the innocent task to succeed',
      async () => {
        const { json } = await api(server.baseUrl, 'GET', `/tasks/${innocent}`);
        return json.data.status === 'succeeded' ? json.data : undefined;
      },
      60_000,
    );
    assert.equal(done.retry_count, 0);
    assert.equal(await redis2.client.hget(keys.channel('killer').crashes, innocent), null, 'never charged with a death');
    assert.deepEqual(
      deaths().flatMap((l) => l.charged as string[]),
      [killer, killer, killer],
      'each charged death was the killer alone, on probation',
    );
    await waitFor('the probation to end', () => server.logs().some((l) => l.event === 'channel-probation-over'));
  });
});
