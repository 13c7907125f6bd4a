import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { send } from './helpers/encodings.js';
import { keys } from './helpers/keys.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { openEvents } from './helpers/sse.js';
import { waitFor } from './helpers/wait.js';

const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'coyotes-api-root-')));
const FINAL = new Set(['succeeded', 'failed']);

describe('task lifecycle over HTTP: options, logs, kill, cancel, callbacks, scripts, allowlist, metrics, OpenAPI', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let base: string;
  const received: { body: Record<string, unknown> }[] = [];
  let callbackServer: Server;
  let callbackUrl: string;

  const push = async (fields: Record<string, string | string[]>, channel = 'default') => {
    const { status, json } = await api(base, 'POST', `/channels/${channel}/tasks`, fields);
    assert.equal(status, 200, json.message);
    return json.data.task_id as string;
  };
  const finished = (id: string) =>
    waitFor(`task ${id} to finish`, async () => {
      const { json } = await api(base, 'GET', `/tasks/${id}`);
      return FINAL.has(json.data?.status) ? json.data : undefined;
    });

  before(async () => {
    mkdirSync(path.join(root, 'sub'));
    // answers 500 to the first delivery and 200 afterwards: the retry is part of the test
    callbackServer = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        received.push({ body: JSON.parse(text) as Record<string, unknown> });
        response.statusCode = received.length === 1 ? 500 : 200;
        response.end();
      });
    });
    await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(callbackServer.address() as { port: number }).port}/done`;
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '3', '-command-root', root] });
    base = coyotes.baseUrl;
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
    callbackServer?.close();
  });

  test('GET /tasks/:id after a run with env, cwd and max_retries: status, exit code, timings, host, tails', async () => {
    const id = await push({
      command: 'sh',
      args: ['-c', 'echo "$GREETING"; pwd; echo warn >&2'],
      env: '{"GREETING":"hi"}',
      cwd: 'sub',
      max_retries: '0',
    });
    const task = await finished(id);
    assert.equal(task.status, 'succeeded');
    assert.equal(task.result.outcome, 'exited');
    assert.equal(task.result.exit_code, 0);
    assert.equal(task.result.stdout_tail, `hi\n${path.join(root, 'sub')}\n`);
    assert.equal(task.result.stderr_tail, 'warn\n');
    assert.deepEqual(task.env, ['GREETING']);
    assert.equal(typeof task.result.host, 'string');
    assert.ok(task.result.duration_ms >= 0);
    assert.ok(Date.parse(task.result.finished_at) >= Date.parse(task.result.started_at));
  });

  test('timeout kills a command that runs too long', async () => {
    const id = await push({ command: 'sleep', args: '30', timeout: '1' });
    const task = await finished(id);
    assert.equal(task.status, 'failed');
    assert.equal(task.result.outcome, 'timed-out');
    assert.equal(task.timeout, 1);
  });

  test('GET /tasks/:id/logs follows output live, ends with done, replays and resumes after the end', async () => {
    const gate = path.join(root, 'gate');
    const id = await push({
      command: 'sh',
      args: ['-c', `echo first; while [ ! -e ${gate} ]; do sleep 0.05; done; echo second; echo oops >&2; exit 3`],
    });
    const stream = await openEvents(`${base}/tasks/${id}/logs`);
    assert.equal(stream.response.status, 200);
    assert.match(stream.response.headers.get('content-type')!, /^text\/event-stream/);
    const first = await stream.next();
    // the command is still blocked on the gate: this line arrived live
    assert.deepEqual(JSON.parse(first!.data), { id, msg_type: 'stdout', data: 'first' });
    assert.equal(first!.event, 'stdout');
    writeFileSync(gate, '');
    const rest = [];
    for (let event = await stream.next(); event; event = await stream.next()) rest.push(event);
    assert.deepEqual(
      rest.map((event) => JSON.parse(event.data)),
      [
        { id, msg_type: 'stdout', data: 'second' },
        { id, msg_type: 'stderr', data: 'oops' },
        { id, msg_type: 'done', data: '', outcome: 'exited', exit_code: 3 },
      ],
    );

    const replay = await openEvents(`${base}/tasks/${id}/logs`);
    const all = [];
    for (let event = await replay.next(); event; event = await replay.next()) all.push(event);
    assert.deepEqual(
      all.map((event) => event.event),
      ['stdout', 'stdout', 'stderr', 'done'],
    );
    const resumed = await openEvents(`${base}/tasks/${id}/logs`, { 'last-event-id': all[1]!.id! });
    const after = [];
    for (let event = await resumed.next(); event; event = await resumed.next()) after.push(JSON.parse(event.data).msg_type);
    assert.deepEqual(after, ['stderr', 'done']);
    assert.equal((await api(base, 'GET', '/tasks/no-such-task/logs')).status, 404);
  });

  test('POST /tasks/:id/kill stops a running task; kill of a finished task is 409, of an unknown one 404', async () => {
    const id = await push({ command: 'sleep', args: '30' });
    await waitFor('the task to run', async () => (await api(base, 'GET', `/tasks/${id}`)).json.data.status === 'running');
    const killed = await api(base, 'POST', `/tasks/${id}/kill`);
    assert.deepEqual(killed.json.data, { task_id: id, status: 'killing' });
    const task = await finished(id);
    assert.equal(task.result.outcome, 'killed');
    const again = await api(base, 'POST', `/tasks/${id}/kill`);
    assert.equal(again.status, 409);
    assert.equal(again.code, 'COY_ERR_TASK_NOT_RUNNING');
    assert.equal((await api(base, 'POST', '/tasks/nope/kill')).status, 404);
  });

  test('DELETE /channels/:name/tasks/:id cancels a queued task; PATCH /channels/:name changes settings live', async () => {
    const paused = await api(base, 'PATCH', '/channels/biz', {
      paused: 'true',
      max_retries: '2',
      timeout: '60',
      shell: 'false',
      distinct: 'false',
    });
    assert.equal(paused.status, 200);
    assert.equal(paused.json.data.paused, true);
    // the settings under the names and units they were given with
    assert.equal(paused.json.data.max_retries, 2);
    assert.equal(paused.json.data.timeout, 60);
    const id = await push({ command: 'true' }, 'biz');
    const cancelled = await api(base, 'DELETE', `/channels/biz/tasks/${id}`);
    assert.deepEqual(cancelled.json.data, { task_id: id, status: 'cancelled' });
    // the task keeps a cancelled record; its entry may linger in the queue list, counted as stale
    assert.equal((await api(base, 'GET', `/tasks/${id}`)).json.data.status, 'cancelled');
    assert.equal(await redis.client.hget(keys.channel('biz').stale, id), '1');

    const marker = path.join(root, 'resumed');
    await push({ command: 'touch', args: marker }, 'biz');
    const resumed = await api(base, 'PATCH', '/channels/biz', { paused: 'false', worker: '2' });
    assert.equal(resumed.json.data.worker, 2);
    await waitFor('the task queued while paused to run', () => existsSync(marker));
  });

  test('allowed_commands: a refused command gets 403 and is never queued; patterns and task lines are matched', async () => {
    const created = await send(
      base,
      'POST',
      '/channels',
      { name: 'safe', allowed_commands: ['echo', 'tr*', '/bin/t?ue'], paused: 'true' },
      'json',
    );
    assert.equal(created.status, 200);
    const before = await redis.client.hgetall(keys.channel('safe').stats);
    for (const [route, fields] of [
      ['/channels/safe/tasks', { command: 'rm', args: ['-rf', '/'] }],
      ['/channels/safe/tasks', { task: 'rm -rf /' }],
      ['/channels/safe', { task: 'curl evil' }],
    ] as const) {
      const refused = await api(base, 'POST', route, fields);
      assert.equal(refused.status, 403);
      assert.equal(refused.code, 'COY_ERR_TASK_NOT_ALLOWED');
      assert.match(refused.json.message, /allowed_commands/);
    }
    const pushed = await api(base, 'POST', '/push', { task: 'sh -c id', channel: 'safe' });
    assert.equal(pushed.status, 403);
    assert.equal(await redis.client.llen(keys.channel('safe').queued), 0);
    assert.deepEqual(await redis.client.hgetall(keys.channel('safe').stats), before);

    for (const fields of [{ command: 'echo', args: 'ok' }, { task: 'true' }, { task: 'tr a b' }, { command: '/bin/true' }]) {
      assert.equal((await api(base, 'POST', '/channels/safe/tasks', fields)).status, 200, JSON.stringify(fields));
    }
    assert.equal(await redis.client.llen(keys.channel('safe').queued), 4);
    // an empty list lifts the restriction
    await api(base, 'PATCH', '/channels/safe', { allowed_commands: '' });
    assert.equal((await api(base, 'POST', '/channels/safe/tasks', { command: 'rm', args: 'x' })).status, 200);
  });

  test('an uploaded script runs with command as its interpreter and its temp file is removed', async () => {
    const form = new FormData();
    form.append('command', 'sh');
    form.append('args', 'one');
    form.append('args', 'two words');
    form.append('script', new Blob(['echo "script got $# args: $1 / $2"\n']), 'job.sh');
    const { json } = await api(base, 'POST', '/channels/default/tasks', form);
    const task = await finished(json.data.task_id);
    assert.equal(task.status, 'succeeded');
    assert.equal(task.result.stdout_tail, 'script got 2 args: one / two words\n');
    assert.deepEqual(
      readdirSync(root).filter((name) => name.startsWith('.coyotes-script')),
      [],
    );

    const text = await send(base, 'POST', '/channels/default/tasks', { command: 'sh', script: 'echo from text' }, 'json');
    assert.equal((await finished(text.json.data.task_id)).result.stdout_tail, 'from text\n');
  });

  test('callback: the final task is POSTed as JSON, retried after a failed delivery', async () => {
    const id = await push({ command: 'echo', args: 'called back', callback: callbackUrl });
    await waitFor('two deliveries (the first answered 500)', () => received.length >= 2, 20_000);
    for (const { body } of received) {
      assert.equal(body.task_id, id);
      assert.equal(body.status, 'succeeded');
      assert.equal((body.result as { stdout_tail: string }).stdout_tail, 'called back\n');
    }
    await waitFor('the outbox to empty', async () => (await redis.client.zcard(keys.channel('default').callbacks)) === 0);
  });

  test('GET /metrics: depths, totals, duration histogram and process figures in Prometheus text', async () => {
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^text\/plain/);
    const text = await response.text();
    for (const state of ['queued', 'running', 'delayed', 'failed'])
      assert.match(text, new RegExp(`^coyotes_tasks\\{channel="default",state="${state}"\\} \\d+$`, 'm'));
    const processed = Number(/^coyotes_tasks_processed_total\{channel="default"\} (\d+)$/m.exec(text)?.[1]);
    assert.ok(processed >= 5);
    assert.match(text, /^coyotes_tasks_failed_total\{channel="default"\} [1-9]\d*$/m);
    assert.match(text, /^# TYPE coyotes_task_duration_seconds histogram$/m);
    const count = Number(/^coyotes_task_duration_seconds_count\{channel="default"\} (\d+)$/m.exec(text)?.[1]);
    const inf = Number(/^coyotes_task_duration_seconds_bucket\{channel="default",le="\+Inf"\} (\d+)$/m.exec(text)?.[1]);
    assert.equal(inf, count);
    assert.ok(count >= processed);
    const sampled = await waitFor('sampled process figures', async () => {
      const body = await (await fetch(`${base}/metrics`)).text();
      return /^coyotes_process_rss_bytes\{role="channel",channel="default"\} \d+$/m.test(body) && body;
    });
    // bounded cardinality: no series per process or per task
    assert.doesNotMatch(sampled, /pid=|task_id=/);
  });

  test('GET /openapi.json describes every registered route; /nodes, /health and /dead-letters answer', async () => {
    const { json: doc } = (await api(base, 'GET', '/openapi.json')) as unknown as {
      json: { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };
    };
    assert.equal(doc.openapi, '3.0.3');
    const operations = Object.entries(doc.paths).flatMap(([p, methods]) =>
      Object.entries(methods).map(([m, op]) => ({ route: `${m.toUpperCase()} ${p}`, op })),
    );
    assert.deepEqual(
      operations.filter(({ op }) => op['x-undocumented']).map(({ route }) => route),
      [],
    );
    for (const route of [
      'POST /push',
      'POST /channels/{name}',
      'POST /channels/{name}/tasks',
      'GET /channels',
      'GET /status',
      'GET /channels/{name}',
      'POST /channels',
      'POST /queue',
      'PATCH /channels/{name}',
      'DELETE /channels/{name}',
      'GET /channels/{name}/failed-tasks',
      'GET /channels/{name}/failed-tasks/{id}',
      'POST /channels/{name}/failed-tasks/{id}',
      'DELETE /channels/{name}/failed-tasks/{id}',
      'GET /delay-tasks',
      'GET /delay-tasks/{id}',
      'DELETE /delay-tasks/{id}',
      'GET /tasks/{id}',
      'GET /tasks/{id}/logs',
      'POST /tasks/{id}/kill',
      'DELETE /channels/{name}/tasks/{id}',
      'GET /dead-letters',
      'GET /nodes',
      'GET /health',
      'GET /metrics',
      'GET /openapi.json',
    ]) {
      assert.ok(
        operations.some((operation) => operation.route === route),
        route,
      );
    }

    const nodes = await api(base, 'GET', '/nodes');
    assert.equal(nodes.json.data.length, 1);
    const health = await api(base, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.deepEqual([health.json.data.redis, health.json.data.master], [true, true]);
    await redis.client.lpush(keys.prepareQueue, 'not json at all');
    const letters = await waitFor('the dead letter', async () => {
      const { json } = await api(base, 'GET', '/dead-letters?limit=1');
      return json.data.count >= 1 ? json.data : undefined;
    });
    assert.equal(letters.items.length, 1);
    assert.equal(letters.items[0].payload, 'not json at all');
  });
});
