import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { isAlive, killAll } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const JSON_BODY = { 'content-type': 'application/json' };
const work = mkdtempSync(path.join(tmpdir(), 'coyotes-lifecycle-'));
const file = (name: string) => path.join(work, name);

describe('channel lifecycle: concurrent changes, delete and re-create', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;

  const patch = (name: string, body: Record<string, unknown>) =>
    api(coyotes.baseUrl, 'PATCH', `/channels/${name}`, JSON.stringify(body), JSON_BODY);
  const stored = async (name: string) => JSON.parse((await redis.client.hget(keys.channels, name))!) as Record<string, unknown>;
  const taskOf = async (id: string) => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json;
  const push = async (channel: string, args: string[]) => {
    const { json } = await api(coyotes.baseUrl, 'POST', `/channels/${channel}/tasks`, { command: '/bin/sh', args });
    assert.equal(json.status_code, 200, JSON.stringify(json));
    return json.data.task_id as string;
  };
  /** Waits until the task runs; answers its leader pid (the command writes it to a file). */
  const running = async (id: string, pidFile: string) => {
    await waitFor(`task ${id} to run`, async () => (await taskOf(id)).data?.status === 'running');
    const pid = await waitFor('the pid file', () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')));
    spawned.push(pid);
    return pid;
  };
  const pausedFlag = async (name: string) => (await redis.client.exists(keys.channel(name).paused)) === 1;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '1'] });
  });
  const spawned: number[] = [];
  after(async () => {
    killAll(spawned);
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('two concurrent PATCHes of different fields both hold, 30 rounds out of 30, and the pause flag agrees', async () => {
    const created = await api(coyotes.baseUrl, 'POST', '/channels', { name: 'race', worker: '1' });
    assert.equal(created.json.status_code, 200);
    for (let round = 0; round < 30; round += 1) {
      const paused = round % 2 === 1;
      const workers = round + 2;
      const [a, b] = await Promise.all([patch('race', { paused }), patch('race', { worker: workers })]);
      assert.equal(a.json.status_code, 200, JSON.stringify(a.json));
      assert.equal(b.json.status_code, 200, JSON.stringify(b.json));
      const config = await stored('race');
      assert.deepEqual({ round, paused: config.paused, workers: config.workers }, { round, paused, workers }, 'an update was lost');
      assert.equal(await pausedFlag('race'), paused, `round ${round}: the claim script's paused flag disagrees with the definition`);
    }
    // the last round paused it: a pushed task is not claimed
    assert.equal((await stored('race')).paused, true);
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/race/tasks', { command: '/bin/true' });
    const id = pushed.json.data.task_id as string;
    await sleep(1500);
    assert.equal((await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data.status, 'queued', 'a paused channel claimed a task');
    await patch('race', { paused: false });
    await waitFor(
      'the resumed channel to run the task',
      async () => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data.status === 'succeeded',
    );
  });

  test('after DELETE a still-running command stays visible (task, /health, /metrics) and killable until it ends', async () => {
    const created = await api(coyotes.baseUrl, 'POST', '/channels', { name: 'gone', worker: '1' });
    assert.equal(created.json.status_code, 200);
    const pidFile = file('gone.pid');
    const id = await waitFor('the channel to take a task', () => push('gone', ['-c', `echo $$ > ${pidFile}; exec sleep 300`]));
    const pid = await running(id, pidFile);
    const deleted = await api(coyotes.baseUrl, 'DELETE', '/channels/gone');
    assert.equal(deleted.json.status_code, 200);
    assert.equal((await api(coyotes.baseUrl, 'GET', '/channels/gone')).status, 404, 'the channel itself is gone');

    const task = await taskOf(id);
    assert.equal(task.status_code, 200, `GET /tasks/${id} after the channel's DELETE: ${JSON.stringify(task)}`);
    assert.equal(task.data.status, 'running');
    const health = await (await fetch(`${coyotes.baseUrl}/health`)).json();
    assert.deepEqual(
      health.data.processes.channels.gone?.running.map((r: { taskId: string }) => r.taskId),
      [id],
      '/health lists the draining command',
    );
    const metrics = await (await fetch(`${coyotes.baseUrl}/metrics`)).text();
    assert.match(metrics, /coyotes_tasks\{channel="gone",state="running"\} 1/);
    // its commands' figures (summed per channel: no per-task labels) appear once master's usage
    // sampler (every 2 s) has seen the command
    await waitFor('the command in /metrics', async () =>
      /coyotes_process_rss_bytes\{role="command",channel="gone"\} [1-9]/.test(await (await fetch(`${coyotes.baseUrl}/metrics`)).text()),
    );

    const killed = await api(coyotes.baseUrl, 'POST', `/tasks/${id}/kill`);
    assert.deepEqual(killed.json.data, { task_id: id, status: 'killing' }, JSON.stringify(killed.json));
    await waitFor('the command to be killed', () => !isAlive(pid));
    const ended = await waitFor('the task to be recorded', async () => {
      const now = await taskOf(id);
      return now.data?.status === 'failed' && now.data;
    });
    assert.equal(ended.result.outcome, 'killed');
  });

  test('a deleted and re-created channel runs at most its workers, its predecessor’s command included', async () => {
    const created = await api(coyotes.baseUrl, 'POST', '/channels', { name: 'again', worker: '1' });
    assert.equal(created.json.status_code, 200);
    const lock = file('again.lock');
    const overlap = file('again.overlap');
    // each command holds a lock for its whole run: two at once leave the overlap file
    const locked = (pidFile: string) => ['-c', `echo $$ > ${pidFile}; mkdir ${lock} || touch ${overlap}; sleep 2; rmdir ${lock} || true`];
    const first = await waitFor('the channel to take a task', () => push('again', locked(file('again-0.pid'))));
    await running(first, file('again-0.pid'));
    assert.equal((await api(coyotes.baseUrl, 'DELETE', '/channels/again')).json.status_code, 200);
    assert.equal((await api(coyotes.baseUrl, 'POST', '/channels', { name: 'again', worker: '1' })).json.status_code, 200);
    const next = [];
    for (let i = 1; i <= 3; i += 1) next.push(await push('again', locked(file(`again-${i}.pid`))));
    for (const id of [first, ...next]) {
      const status = await waitFor(
        `task ${id} to end`,
        async () => /^(succeeded|failed)$/.test((await taskOf(id)).data?.status) && (await taskOf(id)).data.status,
        30_000,
      );
      assert.equal(status, 'succeeded');
    }
    assert.equal(existsSync(overlap), false, 'two commands of the worker=1 channel ran at once');
  });
});
