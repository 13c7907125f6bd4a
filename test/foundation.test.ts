import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { childrenOf } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-foundation-'));
const file = (name: string) => path.join(work, name);

describe('foundation: one task end to end through the real binary', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;

  before(async () => {
    redis = await startRedis();
    // debug: a command's output lines reach the server log at that level only (info would copy a noisy command)
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '3'], env: { COYOTES_LOG_LEVEL: 'debug' } });
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('seed channels exist on first start, persisted in Redis with -concurrent workers', async () => {
    const stored = await redis.client.hgetall(keys.channels);
    assert.deepEqual(Object.keys(stored).sort(), ['biz', 'cron', 'default']);
    for (const json of Object.values(stored)) assert.equal(JSON.parse(json).workers, 3);
  });

  test('master forks the api process and one process per channel over IPC', async () => {
    const children = await waitFor('four children', () => {
      const list = childrenOf(coyotes.pid);
      return list.length === 4 ? list : undefined;
    });
    assert.equal(children.filter((c) => c.cmd.includes('api/dist/child.js')).length, 1);
    assert.equal(children.filter((c) => c.cmd.includes('runner/dist/child.js')).length, 3);
  });

  test("a producer's LPUSH to task:prepare:queue runs the command", async () => {
    const target = file('from-lpush');
    await redis.client.lpush(keys.prepareQueue, JSON.stringify({ task: `touch ${target}`, chan: 'default', ts: 1700000000 }));
    await waitFor('the touched file', () => existsSync(target));
  });

  test('a multipart POST /channels/default/tasks runs the command and answers the seed envelope', async () => {
    const target = file('from-http');
    const { status, json } = await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { task: `touch ${target}` });
    assert.equal(status, 200);
    assert.equal(json.status_code, 200);
    assert.equal(json.message, 'ok');
    assert.deepEqual(Object.keys(json.data), ['task_id', 'task_name', 'result']);
    assert.match(json.data.task_id, /^[A-Za-z0-9]{21}$/);
    assert.equal(json.data.task_name, `touch ${target}`);
    assert.equal(json.data.result, true);
    await waitFor('the touched file', () => existsSync(target));
  });

  test('GET /channels answers in the seed shape with running tasks listed', async () => {
    const marker = file('slow-started');
    const pushed = Date.now();
    const { json: push } = await api(coyotes.baseUrl, 'POST', '/channels/biz/tasks', {
      command: '/bin/sh',
      args: ['-c', `touch ${marker}; sleep 3`],
      task: 'slow-one',
    });
    await waitFor('the slow task to start', () => existsSync(marker));
    const { json } = await api(coyotes.baseUrl, 'GET', '/channels');
    assert.deepEqual(Object.keys(json.data).sort(), ['biz', 'cron', 'default']);
    // the seed's fields, exactly; process figures sit beside them (test/supervision-channels.test.ts)
    const seedShape = ({ tasks, count }: { tasks: Record<string, unknown>[]; count: number }) => ({
      tasks: tasks.map(({ task_name, channel, status }) => ({ task_name, channel, status })),
      count,
    });
    assert.deepEqual(seedShape(json.data.biz), { tasks: [{ task_name: 'slow-one', channel: 'biz', status: 'running' }], count: 1 });
    assert.deepEqual(seedShape(json.data.cron), { tasks: [], count: 0 });
    // beyond the seed: the listed task's id, after the seed's fields, and when it started running
    assert.deepEqual(Object.keys(json.data.biz.tasks[0]).slice(0, 4), ['task_name', 'channel', 'status', 'task_id']);
    assert.equal(json.data.biz.tasks[0].task_id, push.data.task_id);
    const { json: detail } = await api(coyotes.baseUrl, 'GET', `/tasks/${push.data.task_id}`);
    const since = Date.parse(detail.data.running_since);
    assert.ok(since >= pushed - 1000 && since <= Date.now(), `running_since ${detail.data.running_since}`);
  });

  test('commands run as leaders of their own process group', async () => {
    const target = file('pgid');
    await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', {
      command: '/bin/sh',
      args: ['-c', `echo $$ $(cut -d' ' -f5 /proc/$$/stat) > ${target}`],
    });
    const [pid, pgid] = (await waitFor('the pgid file', () => existsSync(target) && readFileSync(target, 'utf8').trim())).split(' ');
    assert.equal(pgid, pid);
  });

  test("a command's stdout and stderr lines go to the log at debug level", async () => {
    await api(coyotes.baseUrl, 'POST', '/channels/cron/tasks', {
      command: '/bin/sh',
      args: ['-c', 'echo out-line-1; echo err-line-1 >&2'],
    });
    await waitFor('the output lines in the log', () => {
      const lines = coyotes.logs().filter((l) => l.stream);
      return (
        lines.some((l) => l.stream === 'stdout' && l.line === 'out-line-1') &&
        lines.some((l) => l.stream === 'stderr' && l.line === 'err-line-1')
      );
    });
  });
});

for (const signal of ['SIGUSR2', 'SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: running commands finish, no new one starts, exit 0, pidfile removed`, async () => {
    const redis = await startRedis();
    const coyotes = await startCoyotes({ redisAddr: redis.addr });
    try {
      const started = file(`${signal}-started`);
      const finished = file(`${signal}-finished`);
      await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', {
        command: '/bin/sh',
        args: ['-c', `touch ${started}; sleep 1.5; touch ${finished}`],
      });
      await waitFor('the command to start', () => existsSync(started));
      assert.ok(existsSync(coyotes.pidfile));
      coyotes.process.kill(signal);
      // pushed after the signal: must stay queued, not run
      const late = file(`${signal}-late`);
      await waitFor('the drain to begin', () => coyotes.logs().some((l) => l.event === 'drain-started'));
      await redis.client.lpush(keys.prepareQueue, JSON.stringify({ task: `touch ${late}`, chan: 'default', ts: 1 }));
      const status = await coyotes.exited;
      assert.deepEqual(status, { code: 0, signal: null });
      assert.ok(existsSync(finished), 'the running command completed');
      assert.ok(!existsSync(late), 'no command started after the signal');
      assert.ok(!existsSync(coyotes.pidfile), 'pidfile removed');
      const stats = await redis.client.hgetall(keys.channel('default').stats);
      assert.equal(stats.succeeded, '1', 'the result was recorded');
    } finally {
      await coyotes.stop('SIGKILL');
      await redis.stop();
    }
  });
}
