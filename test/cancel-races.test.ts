import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Broker, newTaskId } from '../packages/broker/src/index.js';
import { resolveServerOptions } from '../packages/protocol/src/index.js';
import type { TaskSpec } from '../packages/protocol/src/index.js';
import { BIN, api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-cancel-'));
const runs = (name: string): number => (existsSync(path.join(dir, name)) ? readFileSync(path.join(dir, name), 'utf8').length : 0);
/** A command that leaves one byte in `name` per execution and runs long enough for two to overlap. */
const counting = (name: string): string => `sh -c 'printf x >> ${path.join(dir, name)}; sleep 1'`;

describe('cancel: a cancelled task keeps its record and its id never runs twice', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let broker: Broker;

  const status = async (id: string): Promise<string | undefined> =>
    (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data?.status as string | undefined;
  const pause = async (paused: boolean) => {
    assert.equal((await api(coyotes.baseUrl, 'PATCH', '/channels/twice', { paused: String(paused) })).status, 200);
  };
  /** Pushes a last task and waits for it: everything queued before it has started by then. */
  const flush = async () => {
    const { json } = await api(coyotes.baseUrl, 'POST', '/channels/twice/tasks', { task: 'true' });
    await waitFor('the last task to finish', async () => (await status(json.data.task_id)) === 'succeeded', 30_000);
    await waitFor('the channel to be idle', async () => (await api(coyotes.baseUrl, 'GET', '/channels/twice')).json.data.count === 0);
  };

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr });
    assert.equal((await api(coyotes.baseUrl, 'POST', '/channels', { name: 'twice', worker: '2' })).status, 200);
    broker = Broker.connect(resolveServerOptions({ redis: { host: '127.0.0.1', port: redis.port, db: 0 } }), { name: 'test' });
  });
  after(async () => {
    await broker?.close();
    await coyotes?.stop('SIGTERM');
    await redis?.stop();
  });

  test('HTTP: a cancelled id is refused when pushed again (409) and reads cancelled; it never runs', async () => {
    await pause(true);
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/twice/tasks', { task: counting('http'), id: 'dup-http' });
    assert.equal(pushed.status, 200);
    assert.deepEqual((await api(coyotes.baseUrl, 'DELETE', '/channels/twice/tasks/dup-http')).json.data, {
      task_id: 'dup-http',
      status: 'cancelled',
    });
    const again = await api(coyotes.baseUrl, 'POST', '/channels/twice/tasks', { task: counting('http'), id: 'dup-http' });
    assert.equal(again.status, 409, 'the id stays taken by its cancelled record');
    const task = (await api(coyotes.baseUrl, 'GET', '/tasks/dup-http')).json.data;
    assert.equal(task.status, 'cancelled');
    assert.match(task.cancelled_at, /^\d{4}-\d\d-\d\dT/);
    await pause(false);
    await flush();
    assert.equal(runs('http'), 0);
    assert.equal(await status('dup-http'), 'cancelled');
  });

  test('prepare queue: the id pushed again after retention dropped its cancelled record runs exactly once on two workers', async () => {
    await pause(true);
    const entry = JSON.stringify({ id: 'dup-lpush', task: counting('lpush'), chan: 'twice', ts: Math.floor(Date.now() / 1000) });
    await redis.client.lpush(keys.prepareQueue, entry);
    await waitFor('the entry to be queued', async () => (await status('dup-lpush')) === 'queued');
    assert.equal((await api(coyotes.baseUrl, 'DELETE', '/channels/twice/tasks/dup-lpush')).json.data.status, 'cancelled');
    // what retention does to an old record (trimFinished): the id is free again
    await redis.client.zrem(keys.channel('twice').cancelled, 'dup-lpush');
    await redis.client.hdel(keys.channel('twice').tasks, 'dup-lpush');
    await redis.client.lpush(keys.prepareQueue, entry);
    await waitFor('the entry to be queued again', async () => (await status('dup-lpush')) === 'queued');
    await pause(false);
    await flush();
    assert.equal(await status('dup-lpush'), 'succeeded');
    assert.equal(runs('lpush'), 1, 'ran once');
  });

  test('coyotes push --wait exits 125 when its task is cancelled', async () => {
    const env = { ...process.env, COYOTES_ADDR: coyotes.httpAddr };
    const waiting = new Promise<number | null>((resolve) => {
      const args = [BIN, 'push', '--wait', '-c', 'twice', '--delay', '600', '--', 'echo', 'cancel-me-while-waiting'];
      execFile(process.execPath, args, { env, timeout: 60_000 }, (error) => resolve(error ? (error.code as number) : 0));
    });
    const id = await waitFor('the delayed task', async () => {
      const { json } = await api(coyotes.baseUrl, 'GET', '/delay-tasks');
      const delayed = json.data as Record<string, { task_name: string }>;
      return Object.keys(delayed).find((key) => delayed[key]!.task_name === 'echo cancel-me-while-waiting');
    });
    assert.equal((await api(coyotes.baseUrl, 'DELETE', `/channels/twice/tasks/${id}`)).json.data.status, 'cancelled');
    assert.equal(await waiting, 125);
  });

  test('20,000 cancelled tasks: not counted, and a new task starts without a wait per 1,000 of them', async () => {
    await pause(true);
    for (let from = 0; from < 20_000; from += 1000) {
      const specs: TaskSpec[] = Array.from({ length: 1000 }, (_v, i) => ({
        id: newTaskId(),
        channel: 'twice',
        name: `echo ${from + i}`,
        createdAt: Date.now(),
        source: 'http',
      }));
      await broker.tasks.enqueueMany('twice', specs, { distinct: false });
      await Promise.all(specs.map((spec) => broker.tasks.cancel('twice', spec.id)));
    }
    const channel = (await api(coyotes.baseUrl, 'GET', '/channels/twice')).json.data;
    assert.equal(channel.count, 0, 'cancelled tasks are not counted');
    const stats = (await api(coyotes.baseUrl, 'GET', '/stats')).json.data.channels.find((row: { name: string }) => row.name === 'twice');
    assert.equal(stats.queued, 0);
    assert.equal(stats.cancelled, 10_000, 'records kept up to the retention count');
    const { json } = await api(coyotes.baseUrl, 'POST', '/channels/twice/tasks', { task: 'true' });
    await pause(false);
    // each claim drops at most 1,000 stale entries; blocking 1 s after each would take 20 s
    await waitFor('the new task to run', async () => (await status(json.data.task_id)) === 'succeeded', 10_000);
  });
});
