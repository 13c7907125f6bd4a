import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, BIN, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { ENCODINGS, send } from './helpers/encodings.js';
import { freePort } from './helpers/ports.js';
import { fuzzSeed, random } from './helpers/random.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const BODY_LIMIT = 4096;
const work = mkdtempSync(path.join(tmpdir(), 'coyotes-bad-input-'));

describe('bad input: a 4xx envelope naming the field, never a 5xx, never a crash', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let base: string;

  /** Expects a client error whose envelope message matches (and, when given, its `X-Coyotes-Error` code). */
  const refused = async (
    response: Promise<{ status: number; json: { status_code: number; message: string; data: unknown }; code: string | null }>,
    status: number,
    message: RegExp,
    code?: string,
  ) => {
    const { status: got, json, code: gotCode } = await response;
    if (code !== undefined) assert.equal(gotCode, code, json.message);
    assert.equal(got, status, `${json.message}`);
    assert.deepEqual(Object.keys(json), ['status_code', 'message', 'data']);
    assert.equal(json.status_code, status);
    assert.equal(json.data, null);
    assert.match(json.message, message);
  };

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2', '-http-body-limit', String(BODY_LIMIT)] });
    base = coyotes.baseUrl;
    await api(base, 'POST', '/channels', { name: 'fuzz', worker: '1', paused: 'true' });
    await api(base, 'POST', '/channels', { name: 'keep', worker: '2', paused: 'true' });
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('unknown channel 404, unknown task id 404, unknown route 404, wrong method 405', async () => {
    for (const encoding of ENCODINGS) {
      await refused(send(base, 'POST', '/channels/nope/tasks', { task: 'date' }, encoding), 404, /channel nope not found/);
      await refused(send(base, 'POST', '/push', { task: 'date', channel: 'nope' }, encoding), 404, /channel nope/);
    }
    await refused(api(base, 'GET', '/channels/nope'), 404, /nope/);
    await refused(api(base, 'PATCH', '/channels/nope', { worker: '2' }), 404, /nope/);
    await refused(api(base, 'DELETE', '/channels/nope'), 404, /nope/);
    await refused(api(base, 'GET', '/channels/nope/failed-tasks'), 404, /nope/);
    await refused(api(base, 'GET', '/tasks/nope'), 404, /task nope not found/);
    await refused(api(base, 'GET', '/delay-tasks/nope'), 404, /nope/);
    await refused(api(base, 'DELETE', '/delay-tasks/nope'), 404, /nope/);
    await refused(api(base, 'GET', '/channels/fuzz/failed-tasks/nope'), 404, /nope/);
    await refused(api(base, 'POST', '/channels/fuzz/failed-tasks/nope'), 404, /nope/);
    await refused(api(base, 'DELETE', '/channels/fuzz/tasks/nope'), 404, /nope/);
    await refused(api(base, 'GET', '/no/such/route'), 404, /no route for GET \/no\/such\/route/, 'COY_ERR_ROUTE_NOT_FOUND');
    await refused(api(base, 'PUT', '/channels'), 405, /PUT is not allowed/, 'COY_ERR_ROUTE_METHOD_NOT_ALLOWED');
  });

  test('missing or malformed fields are named: task, command, name, worker, delay, timeout, max_retries, id, env, callback, script, limit', async () => {
    for (const encoding of ENCODINGS) {
      await refused(send(base, 'POST', '/push', { channel: 'fuzz' }, encoding), 400, /task is required/);
      await refused(send(base, 'POST', '/channels/fuzz', {}, encoding), 400, /task is required/);
      await refused(send(base, 'POST', '/channels/fuzz/tasks', { args: 'x' }, encoding), 400, /task is required/);
      await refused(send(base, 'POST', '/channels', { worker: '2' }, encoding), 400, /name is required/);
      for (const name of ['bad name!', 'a'.repeat(65), 'slash/name', 'ünï']) {
        await refused(send(base, 'POST', '/channels', { name }, encoding), 400, /^name must be/);
      }
      for (const worker of ['abc', '-1', '0', '1.5', '1e3', '2000']) {
        await refused(send(base, 'POST', '/channels', { name: 'ok-name', worker }, encoding), 400, /^worker must be/);
        await refused(send(base, 'PATCH', '/channels/fuzz', { worker }, encoding), 400, /^worker must be/);
      }
      for (const field of ['delay', 'timeout', 'max_retries']) {
        for (const value of ['x', '-5', '3.5', '99999999999999999999']) {
          await refused(
            send(base, 'POST', '/channels/fuzz/tasks', { task: 'date', [field]: value }, encoding),
            400,
            new RegExp(`^${field} must be`),
          );
        }
      }
      await refused(send(base, 'POST', '/channels/fuzz/tasks', { task: 'date', id: 'bad id!' }, encoding), 400, /^id must be/);
      await refused(send(base, 'POST', '/channels/fuzz/tasks', { task: 'date', env: '{not json' }, encoding), 400, /^env must be/);
      await refused(send(base, 'POST', '/channels/fuzz/tasks', { task: 'date', env: '{"1BAD":"x"}' }, encoding), 400, /env name "1BAD"/);
      await refused(
        send(base, 'POST', '/channels/fuzz/tasks', { task: 'date', callback: 'ftp://example.com/' }, encoding),
        400,
        /^callback must be/,
      );
      await refused(
        send(base, 'POST', '/channels/fuzz/tasks', { task: 'date', script: 'echo hi' }, encoding),
        400,
        /command is required with script/,
      );
      await refused(
        send(base, 'POST', '/channels/fuzz/tasks', { command: 'echo', args: ['a\u0000b'] }, encoding),
        400,
        /args must not contain NUL/,
      );
      await refused(send(base, 'PATCH', '/channels/fuzz', { paused: 'maybe' }, encoding), 400, /^paused must be true or false/);
      // a single-valued field given twice is refused, not cut to one of its values (it ran `echo b`)
      await refused(
        send(base, 'POST', '/channels/fuzz/tasks', { task: ['rm -rf x', 'echo b'] }, encoding),
        400,
        /^task must be given once/,
      );
      await refused(
        send(base, 'POST', '/channels/fuzz/tasks', { task: 'date', delay: ['0', '60'] }, encoding),
        400,
        /^delay must be given once/,
      );
    }
    await refused(
      api(base, 'POST', '/channels/fuzz/tasks', JSON.stringify({ task: { nested: true } }), { 'content-type': 'application/json' }),
      400,
      /^task must be a string/,
    );
    await refused(
      api(base, 'POST', '/channels/fuzz/tasks', JSON.stringify({ command: 'echo', args: [{}] }), { 'content-type': 'application/json' }),
      400,
      /^args must be a list of strings/,
    );
    for (const query of ['limit=0', 'limit=5000', 'limit=abc', 'offset=-1']) {
      await refused(api(base, 'GET', `/channels?${query}`), 400, /^(limit|offset) must be/);
      await refused(api(base, 'GET', `/dead-letters?${query}`), 400, /^(limit|offset) must be/);
    }
    await refused(api(base, 'GET', '/tasks/nope/logs?cursor=abc'), 404, /nope/);
  });

  test('bad JSON is 400; bodies over -http-body-limit are 413 in every encoding', async () => {
    await refused(
      api(base, 'POST', '/push', '{"task": "date",', { 'content-type': 'application/json' }),
      400,
      /malformed body/,
      'COY_ERR_REQUEST_INVALID',
    );
    await refused(api(base, 'POST', '/push', '\u0000\u0001garbage', { 'content-type': 'application/json' }), 400, /malformed body/);
    const big = 'x'.repeat(BODY_LIMIT * 2);
    for (const encoding of ENCODINGS) {
      await refused(
        send(base, 'POST', '/channels/fuzz/tasks', { task: big }, encoding),
        413,
        new RegExp(`larger than ${BODY_LIMIT} bytes`),
        'COY_ERR_REQUEST_TOO_LARGE',
      );
    }
    const upload = new FormData();
    upload.append('command', 'sh');
    upload.append('script', new Blob([big]), 'big.sh');
    await refused(api(base, 'POST', '/channels/fuzz/tasks', upload), 413, /larger than/, 'COY_ERR_REQUEST_TOO_LARGE');
    // a body just under the limit is fine (one long argument: a program name that long could never run)
    const fits = await api(base, 'POST', '/channels/fuzz/tasks', { task: `echo ${'y'.repeat(BODY_LIMIT - 400)}` });
    assert.equal(fits.status, 200);
  });

  test('fuzz: random methods, encodings, sizes, unicode and NUL bytes get no 5xx; valid tasks are unaffected', async () => {
    const seed = fuzzSeed();
    const rng = random(seed);
    const markers = Array.from({ length: 6 }, (_, i) => path.join(work, `valid-${i}`));
    const validIds: string[] = [];
    const pushValid = async (i: number) => {
      const { status, json } = await api(base, 'POST', '/channels/keep/tasks', { command: 'touch', args: markers[i]! });
      assert.equal(status, 200);
      validIds.push(json.data.task_id);
    };
    const apiPid = async () => (await api(base, 'GET', '/health')).json.data.processes?.api?.pid as number | undefined;
    const pidBefore = await apiPid();
    assert.equal(typeof pidBefore, 'number');

    const atoms = [
      '',
      ' ',
      'date',
      '-1',
      '0',
      '1',
      '1.5',
      'true',
      'null',
      '[]',
      '{}',
      'ünïcödé ✓ 🐺',
      '\u0000',
      'a\u0000b',
      '%00',
      '../../etc/passwd',
      '${HOME}',
      '\'"`',
      'x'.repeat(3000),
    ];
    const names = [
      'task',
      'command',
      'args',
      'args[]',
      'delay',
      'timeout',
      'id',
      'env',
      'cwd',
      'max_retries',
      'callback',
      'worker',
      'distinct',
      'paused',
      'allowed_commands',
      'script',
      '',
      '\u0000',
      '__proto__',
      'constructor',
    ];
    const value = (depth = 0): unknown => {
      switch (rng.int(depth > 2 ? 3 : 6)) {
        case 0:
          return rng.pick(atoms);
        case 1:
          return rng.int(2) ? rng.int(1e9) - 5e8 : rng.next() * 1e20;
        case 2:
          return rng.pick([null, true, false]);
        case 3:
          return Array.from({ length: rng.int(4) }, () => value(depth + 1));
        case 4:
          return Object.fromEntries(Array.from({ length: rng.int(4) }, () => [rng.pick(names), value(depth + 1)]));
        default:
          return String.fromCharCode(...Array.from({ length: rng.int(40) }, () => rng.int(0xffff)));
      }
    };
    const segments = (keep: boolean) => [...atoms.slice(0, 12), 'fuzz', 'nope', ...(keep ? ['keep'] : [])];
    const segment = (keep = true) => encodeURIComponent(String(rng.pick(segments(keep))));
    const routes = [
      () => '/push',
      // random bodies may go into the keep channel's queue, but a random PATCH or DELETE of the
      // channel itself would unpause or remove what the valid tasks need
      () => `/channels/${rng.pick(['fuzz', 'nope', segment(false)])}`,
      () => `/channels/${rng.pick(['fuzz', segment()])}/tasks`,
      () => `/tasks/${segment()}`,
      () => `/tasks/${segment()}/kill`,
      () => `/tasks/${segment()}/logs?cursor=${segment()}`,
      () => `/channels/fuzz/tasks/${segment()}`,
      () => `/channels/fuzz/failed-tasks/${segment()}`,
      () => `/delay-tasks/${segment()}`,
      () => `/channels?limit=${segment()}&offset=${segment()}`,
      () => `/dead-letters?limit=${segment()}`,
      () => `/dead-letters/${segment()}`,
      () => `/tasks?state=${segment()}&channel=${segment()}&limit=${segment()}`,
      () => '/metrics',
      () => '/openapi.json',
      () => `/${segment()}/${segment()}`,
    ];
    const body = (): { payload?: BodyInit; type?: string } => {
      const fields = value() as Record<string, unknown>;
      const object = typeof fields === 'object' && fields !== null && !Array.isArray(fields) ? fields : { task: fields };
      // never a valid task that runs: /push targets the paused fuzz channel
      object.channel = 'fuzz';
      switch (rng.int(6)) {
        case 0:
          return { payload: JSON.stringify(rng.int(4) ? object : value()), type: 'application/json' };
        case 1: {
          const params = new URLSearchParams();
          for (const [key, item] of Object.entries(object))
            params.append(key, typeof item === 'string' ? item : (JSON.stringify(item) ?? ''));
          return { payload: params.toString(), type: 'application/x-www-form-urlencoded' };
        }
        case 2: {
          const form = new FormData();
          for (const [key, item] of Object.entries(object)) {
            if (rng.int(5) === 0) form.append(key, new Blob([String(item)]), String(rng.pick(atoms)).slice(0, 50) || 'f');
            else form.append(key, typeof item === 'string' ? item : (JSON.stringify(item) ?? ''));
          }
          return { payload: form };
        }
        case 3:
          return {
            payload: Buffer.from(Array.from({ length: rng.int(BODY_LIMIT * 2) }, () => rng.int(256))),
            type: rng.pick([
              'application/json',
              'multipart/form-data; boundary=x',
              'application/x-www-form-urlencoded',
              'text/plain',
              'application/octet-stream',
            ]),
          };
        case 4:
          return {
            payload: 'x'.repeat(rng.int(BODY_LIMIT * 3)),
            type: rng.pick(['application/json', 'application/x-www-form-urlencoded']),
          };
        default:
          return {};
      }
    };

    const REQUESTS = 400;
    let sent = 0;
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const worker = async () => {
      while (sent < REQUESTS) {
        const n = sent++;
        if (n % 80 === 0) await pushValid(n / 80);
        const method = rng.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'POST', 'POST']);
        const route = rng.pick(routes)();
        const { payload, type } = method === 'GET' ? {} : body();
        const headers: Record<string, string> = type ? { 'content-type': type } : {};
        try {
          const response = await fetch(base + route, { method, body: payload, headers, signal: AbortSignal.timeout(10_000) });
          const text = await response.text();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status >= 500) failures.push(`${method} ${route} → ${response.status} ${text.slice(0, 200)}`);
          if (response.status >= 400 && !route.includes('/logs')) {
            const json = JSON.parse(text) as { status_code: number; message: string };
            if (json.status_code !== response.status || !json.message)
              failures.push(`${method} ${route}: not an envelope: ${text.slice(0, 200)}`);
          }
        } catch (error) {
          failures.push(`${method} ${route}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.deepEqual(failures, [], `fuzz seed ${seed}`);
    // the run reached the validators, the size limit and the routes, not only the router
    for (const status of [400, 404, 413])
      assert.ok((statuses.get(status) ?? 0) > 0, `fuzz seed ${seed}: no ${status} in ${JSON.stringify([...statuses])}`);

    // still serving, by the same api process, and the valid tasks all run once released
    const health = await api(base, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(await apiPid(), pidBefore);
    assert.equal(validIds.length, 5);
    await api(base, 'PATCH', '/channels/keep', { paused: 'false' });
    await waitFor('every valid task to run', () => markers.slice(0, 5).every((marker) => existsSync(marker)), 15_000);
    for (const id of validIds) {
      await waitFor(`task ${id} recorded`, async () => (await api(base, 'GET', `/tasks/${id}`)).json.data?.status === 'succeeded');
    }
  });
});

describe('--http-token and the bind guard', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  const TOKEN = 's3cret-token';

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-http-token', TOKEN] });
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('every route but /health needs Authorization: Bearer <token>', async () => {
    const doc = (await api(coyotes.baseUrl, 'GET', '/openapi.json', undefined, { authorization: `Bearer ${TOKEN}` })).json as unknown as {
      paths: Record<string, Record<string, unknown>>;
    };
    let checked = 0;
    for (const [template, methods] of Object.entries(doc.paths)) {
      const route = template.replace(/\{name\}/g, 'default').replace(/\{id\}/g, 'some-id');
      for (const method of Object.keys(methods)) {
        for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
          const response = await fetch(coyotes.baseUrl + route, {
            method: method.toUpperCase(),
            headers: authorization ? { authorization } : {},
          });
          const text = await response.text();
          if (route === '/health') {
            assert.equal(response.status, 200);
            continue;
          }
          assert.equal(response.status, 401, `${method} ${route} with ${authorization}`);
          assert.equal(response.headers.get('www-authenticate'), 'Bearer');
          assert.equal(JSON.parse(text).status_code, 401);
          assert.equal(response.headers.get('x-coyotes-error'), 'COY_ERR_REQUEST_UNAUTHORIZED');
          checked += 1;
        }
      }
    }
    assert.ok(checked >= 25 * 4);
    const allowed = await api(coyotes.baseUrl, 'GET', '/channels', undefined, { authorization: `Bearer ${TOKEN}` });
    assert.equal(allowed.status, 200);
  });

  test('a non-loopback -http-addr without a token refuses to start, naming the fix', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [BIN, '-redis-host', redis.addr, '-http-addr', `0.0.0.0:${port}`, '-pidfile', path.join(work, 'bind.pid')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.notEqual(code, 0);
    assert.match(output, /not a loopback address and no -http-token is set/);
    assert.match(output, /-allow-insecure-bind/);
  });
});
