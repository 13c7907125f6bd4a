import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { ENCODINGS, send } from './helpers/encodings.js';
import { keys } from './helpers/keys.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

/** Go's RFC3339Nano as the seed printed times: fraction without trailing zeros, Z or ±hh:mm. */
const GO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?(Z|[+-]\d\d:\d\d)$/;
const TASK_KEYS = ['task_id', 'task_name', 'command', 'channel', 'status'];
const DELAYED_KEYS = [...TASK_KEYS, 'execute_at', 'retry_count', 'failed_at'];
const FAILED_KEYS = [...TASK_KEYS, 'retry_count', 'failed_at'];

describe('seed routes answer exactly as the seed READMEs show, in every body encoding', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let base: string;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
    base = coyotes.baseUrl;
    // a paused channel keeps what is pushed queued, so listings are deterministic
    const created = await api(base, 'POST', '/channels', { name: 'hold', worker: '1', paused: 'true' });
    assert.equal(created.status, 200);
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('POST /push (task, channel): the seed response text, byte for byte', async () => {
    for (const encoding of ENCODINGS) {
      const { status, json } = await send(base, 'POST', '/push', { task: 'date', channel: 'hold' }, encoding);
      assert.equal(status, 200, encoding);
      assert.equal(JSON.stringify(json), '{"status_code":200,"message":"ok","data":{"task_name":"date","result":true}}', encoding);
    }
  });

  test('POST /channels/:name (task): the seed response text', async () => {
    for (const encoding of ENCODINGS) {
      const { json } = await send(base, 'POST', '/channels/hold', { task: 'ping -c 40 baidu.com' }, encoding);
      assert.equal(JSON.stringify(json), '{"status_code":200,"message":"ok","data":{"task_name":"ping -c 40 baidu.com","result":true}}');
    }
  });

  test('POST /channels/:name/tasks with repeated args and delay; GET|DELETE /delay-tasks[/:id] in the seed shape', async () => {
    const ids: string[] = [];
    for (const encoding of ENCODINGS) {
      const fields = { task: 'pwd', command: 'ping', args: ['-c', '10', 'baidu.com'], delay: '100' };
      const { status, json } = await send(base, 'POST', '/channels/default/tasks', fields, encoding);
      assert.equal(status, 200, encoding);
      assert.deepEqual(Object.keys(json), ['status_code', 'message', 'data']);
      assert.deepEqual(Object.keys(json.data), ['task_id', 'task_name', 'result']);
      assert.equal(json.data.task_name, 'pwd');
      assert.equal(json.data.result, true);
      ids.push(json.data.task_id);

      const one = await api(base, 'GET', `/delay-tasks/${json.data.task_id}`);
      assert.deepEqual(Object.keys(one.json.data), DELAYED_KEYS);
      // repeated multipart/urlencoded fields and a JSON array all arrive as the same list
      assert.deepEqual(one.json.data.command, { name: 'ping', args: ['-c', '10', 'baidu.com'] }, encoding);
      assert.equal(one.json.data.status, '');
      assert.equal(one.json.data.retry_count, 0);
      assert.equal(one.json.data.failed_at, '0001-01-01T00:00:00Z');
      assert.match(one.json.data.execute_at, GO_TIME);
      assert.ok(Math.abs(Date.parse(one.json.data.execute_at) - (Date.now() + 100_000)) < 5000);
    }

    const list = await fetch(`${base}/delay-tasks`);
    const listed = (await list.json()) as { data: Record<string, Record<string, unknown>> };
    assert.equal(list.headers.get('x-total-count'), '3');
    assert.deepEqual(Object.keys(listed.data).sort(), [...ids].sort());
    for (const [id, task] of Object.entries(listed.data)) assert.equal(task.task_id, id);

    const paged = await api(base, 'GET', '/delay-tasks?limit=2&offset=2');
    assert.equal(Object.keys(paged.json.data).length, 1);

    const deleted = await api(base, 'DELETE', `/delay-tasks/${ids[0]}`);
    assert.deepEqual(Object.keys(deleted.json.data), DELAYED_KEYS);
    assert.equal(deleted.json.data.task_id, ids[0]);
    assert.equal((await api(base, 'GET', `/delay-tasks/${ids[0]}`)).status, 404);
  });

  test("POST /channels and TaskRunner's POST /queue (name, distinct, worker): data null, settings stored", async () => {
    for (const [i, encoding] of ENCODINGS.entries()) {
      for (const route of ['/channels', '/queue']) {
        const name = `made-${route.slice(1)}-${i}`;
        const { status, json } = await send(base, 'POST', route, { name, distinct: 'true', worker: '3' }, encoding);
        assert.equal(status, 200, `${route} ${encoding}`);
        assert.equal(JSON.stringify(json), '{"status_code":200,"message":"ok","data":null}');
        const stored = JSON.parse((await redis.client.hget(keys.channels, name))!);
        assert.equal(stored.distinct, true);
        assert.equal(stored.workers, 3);
      }
    }
    // JSON bodies may carry real booleans and numbers too
    const typed = await api(base, 'POST', '/channels', JSON.stringify({ name: 'typed', distinct: true, worker: 4 }), {
      'content-type': 'application/json',
    });
    assert.equal(typed.status, 200);
    assert.equal(JSON.parse((await redis.client.hget(keys.channels, 'typed'))!).workers, 4);
  });

  test("PHP's indexed list keys (http_build_query: args[0], allowed_commands[0]) arrive as the same list in every encoding", async () => {
    for (const [i, encoding] of ENCODINGS.entries()) {
      const name = `indexed-${i}`;
      const made = await send(
        base,
        'POST',
        '/channels',
        { name, paused: 'true', 'allowed_commands[1]': '/bin/echo', 'allowed_commands[0]': 'php' },
        encoding,
      );
      assert.equal(made.status, 200, `${encoding}: ${JSON.stringify(made.json)}`);
      assert.deepEqual(JSON.parse((await redis.client.hget(keys.channels, name))!).allowedCommands, ['php', '/bin/echo'], encoding);
      const pushed = await send(
        base,
        'POST',
        `/channels/${name}/tasks`,
        { command: '/bin/echo', 'args[1]': 'b', 'args[0]': 'a' },
        encoding,
      );
      assert.equal(pushed.status, 200, `${encoding}: ${JSON.stringify(pushed.json)}`);
      const task = await api(base, 'GET', `/tasks/${pushed.json.data.task_id}`);
      assert.deepEqual(task.json.data.command, { name: '/bin/echo', args: ['a', 'b'] }, encoding);
    }
  });

  test('a distinct channel answers result false for a command line already queued', async () => {
    await api(base, 'POST', '/channels', { name: 'uniq', distinct: 'true', paused: 'true' });
    const first = await api(base, 'POST', '/channels/uniq', { task: 'echo same' });
    const second = await api(base, 'POST', '/channels/uniq', { task: 'echo same' });
    assert.equal(first.json.data.result, true);
    assert.deepEqual(second.json.data, { task_name: 'echo same', result: false });
  });

  test('GET /channels, /status and /channels/:name: tasks then count, count the true total, one page', async () => {
    await api(base, 'POST', '/channels/default/tasks', { command: 'sleep', args: '30', id: 'seed-running' });
    const all = await waitFor('a running task in the listing', async () => {
      const { json } = await api(base, 'GET', '/channels');
      return json.data.default.tasks.some((t: { status: string }) => t.status === 'running') ? json : undefined;
    });
    for (const [name, channel] of Object.entries<Record<string, unknown>>(all.data)) {
      assert.deepEqual(Object.keys(channel).slice(0, 2), ['tasks', 'count'], name);
      for (const task of channel.tasks as Record<string, unknown>[])
        assert.deepEqual(Object.keys(task).slice(0, 3), ['task_name', 'channel', 'status']);
    }
    const running = (all.data.default.tasks as Record<string, unknown>[]).find((t) => t.status === 'running')!;
    assert.equal(running.task_name, 'sleep 30');
    assert.equal(running.channel, 'default');
    const status = await api(base, 'GET', '/status');
    assert.deepEqual(Object.keys(status.json.data), Object.keys(all.data));

    const hold = await api(base, 'GET', '/channels/hold?limit=2');
    assert.equal(hold.json.data.tasks.length, 2);
    assert.equal(hold.json.data.count, 6);
    assert.deepEqual(
      hold.json.data.tasks.map((t: Record<string, unknown>) => [t.channel, t.status]),
      [
        ['hold', 'queued'],
        ['hold', 'queued'],
      ],
    );
    const next = await api(base, 'GET', '/channels/hold?limit=2&offset=5');
    assert.equal(next.json.data.tasks.length, 1);

    const cancelled = await api(base, 'DELETE', '/channels/default/tasks/seed-running');
    assert.deepEqual(cancelled.json.data, { task_id: 'seed-running', status: 'killing' });
  });

  test('failed tasks: GET list and one, POST retries, DELETE removes, in the seed shape', async () => {
    const pushed = await api(base, 'POST', '/channels/default/tasks', { task: 'git-command', command: 'false' });
    const id = pushed.json.data.task_id as string;
    const list = await waitFor('the failed task', async () => {
      const response = await fetch(`${base}/channels/default/failed-tasks`);
      const body = (await response.json()) as { data: Record<string, Record<string, unknown>> };
      return body.data[id] ? { body, total: response.headers.get('x-total-count') } : undefined;
    });
    assert.ok(Number(list.total) >= 1);
    const task = list.body.data[id]!;
    assert.deepEqual(Object.keys(task), FAILED_KEYS);
    assert.deepEqual(task.command, { name: 'false', args: null });
    assert.equal(task.task_name, 'git-command');
    assert.equal(task.status, '');
    assert.equal(typeof task.retry_count, 'number');
    assert.match(task.failed_at as string, GO_TIME);

    const one = await api(base, 'GET', `/channels/default/failed-tasks/${id}`);
    assert.deepEqual(one.json.data, task);

    const retried = await api(base, 'POST', `/channels/default/failed-tasks/${id}`);
    assert.equal(JSON.stringify(retried.json), '{"status_code":200,"message":"ok","data":null}');
    await waitFor('the retried task to fail again', async () => {
      const again = await api(base, 'GET', `/channels/default/failed-tasks/${id}`);
      return again.status === 200 && again.json.data.failed_at !== task.failed_at;
    });

    const removed = await api(base, 'DELETE', `/channels/default/failed-tasks/${id}`);
    assert.equal(removed.json.data, null);
    assert.equal((await api(base, 'GET', `/channels/default/failed-tasks/${id}`)).status, 404);
  });
});
