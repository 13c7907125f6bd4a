import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { isAlive, killAll } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-limits-'));
const file = (name: string) => path.join(work, name);
const THIRTY_DAYS_S = 30 * 86_400;

describe('task limits: long timeouts, background children', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  const spawned: number[] = [];

  const taskOf = async (id: string) => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data;
  const waitForEnd = (id: string) =>
    waitFor(
      `task ${id} to end`,
      async () => {
        const task = await taskOf(id);
        return task?.status === 'succeeded' || task?.status === 'failed' ? task : false;
      },
      30_000,
    );
  const push = async (channel: string, body: Record<string, string | string[]>) => {
    const { json } = await api(coyotes.baseUrl, 'POST', `/channels/${channel}/tasks`, body);
    assert.equal(json.status_code, 200, JSON.stringify(json));
    return json.data.task_id as string;
  };

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
    const shell = await api(coyotes.baseUrl, 'POST', '/channels', { name: 'sh', worker: '2', shell: 'true' });
    assert.equal(shell.json.status_code, 200);
  });
  after(async () => {
    killAll(spawned);
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('a task timeout of 30 days (beyond setTimeout’s 24.8-day limit) does not kill the task at once', async () => {
    const id = await push('default', { command: '/bin/sleep', args: ['1'], timeout: String(THIRTY_DAYS_S) });
    const task = await waitForEnd(id);
    assert.equal(task.status, 'succeeded', JSON.stringify(task.result));
    assert.equal(task.result.outcome, 'exited');
  });

  test('a channel timeout of 30 days set by PATCH does not kill the channel’s tasks', async () => {
    const created = await api(coyotes.baseUrl, 'POST', '/channels', { name: 'long', worker: '1' });
    assert.equal(created.json.status_code, 200);
    const patched = await api(coyotes.baseUrl, 'PATCH', '/channels/long', JSON.stringify({ timeout: THIRTY_DAYS_S }), {
      'content-type': 'application/json',
    });
    assert.equal(patched.json.status_code, 200, JSON.stringify(patched.json));
    const id = await waitFor('the channel to take a task', () => push('long', { command: '/bin/sleep', args: ['1'] }));
    const task = await waitForEnd(id);
    assert.equal(task.status, 'succeeded', JSON.stringify(task.result));
  });

  test('a background child left by a command that exited is killed before the task is recorded', async () => {
    const pidFile = file('background');
    const id = await push('sh', { task: `sleep 300 & echo $! > ${pidFile}; exit 0` });
    const task = await waitForEnd(id);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    spawned.push(pid);
    assert.equal(task.status, 'succeeded', 'the leader exited 0: the task succeeded');
    assert.equal(isAlive(pid), false, `the background sleep ${pid} outlived its recorded task`);
  });

  test('a background child that ignores SIGTERM is SIGKILLed after the grace period', async () => {
    const pidFile = file('ignores-term');
    const trapped = file('ignores-term-trapped');
    // the leader exits only once the child ignores SIGTERM (a SIGTERM before its trap kills it, as it should)
    const id = await push('sh', {
      task: `(trap '' TERM; echo > ${trapped}; exec sleep 300) & while [ ! -s ${trapped} ]; do sleep 0.01; done; echo $! > ${pidFile}; exit 0`,
    });
    const task = await waitForEnd(id);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    spawned.push(pid);
    assert.equal(task.status, 'succeeded');
    assert.equal(isAlive(pid), false, `the TERM-ignoring sleep ${pid} outlived its recorded task`);
    // the slot was held through the grace period (-kill-grace 1 in tests) until the SIGKILL
    assert.ok(task.result.duration_ms >= 900, `recorded after ${task.result.duration_ms} ms, before the grace period ended`);
  });

  test('a task printing 50 MB in long lines leaves at most its byte budget in Redis, and master’s log stays small', async (t) => {
    const logged = coyotes.output().length;
    const id = await push('sh', { task: "head -c 52428800 /dev/zero | tr '\\0' a | fold -w 200000" });
    const task = await waitForEnd(id);
    assert.equal(task.status, 'succeeded');
    const key = keys.taskLog('sh', id);
    const entries = (await redis.client.xrange(key, '-', '+')).map(([, fields]) => ({ stream: fields[1], data: fields[3] ?? '' }));
    const lineBytes = entries.filter((e) => e.stream === 'stdout').reduce((sum, e) => sum + Buffer.byteLength(e.data), 0);
    assert.ok(lineBytes <= 1_048_576, `${lineBytes} bytes of lines in the stream, over the 1 MiB budget`);
    const memory = Number(await redis.client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    assert.ok(memory <= 1_572_864, `the stream takes ${memory} bytes of Redis`);
    const marker = entries.find((e) => e.data.includes('output truncated'));
    assert.ok(marker, 'one marker says the output was truncated');
    const dropped = Number(/output truncated: (\d+) bytes dropped/.exec(marker.data)?.[1]);
    assert.ok(dropped > 1_048_576, `the marker counts ${dropped} bytes dropped`);
    assert.equal(entries.filter((e) => e.data.includes('output truncated')).length, 1);
    assert.equal(entries.at(-1)?.stream, 'done', 'the done record still ends the stream');
    const written = coyotes.output().length - logged;
    t.diagnostic(`stream: ${lineBytes} bytes of lines, MEMORY USAGE ${memory}; dropped ${dropped}; server log +${written} bytes`);
    assert.ok(written < 100_000, `the server logged ${written} bytes for it: output lines were copied into its log`);
  });
});
