import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { Broker, BrokerEvent } from '@coyotes/broker';
import { TASK_ID_RULE, newChannelConfig } from '@coyotes/protocol';
import { loggedRecords } from '../../../test/helpers/logs.js';
import type { TestRedis } from '../../../test/helpers/redis.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { appInProcess } from './in-process.js';
import type { AppInProcess } from './in-process.js';

/** The routes in process (see `appInProcess`): no route needs master, and there is none to ask. */
describe('the app in process: pushes go through the broker door', () => {
  let app: AppInProcess;
  let redis: TestRedis;
  let broker: Broker;
  let events: BrokerEvent[];
  let base: string;
  const logged = loggedRecords();
  const logs = logged.records;

  before(async () => {
    app = await appInProcess({ options: { keyPrefix: 'app-test' }, log: pino(logged.stream) });
    ({ redis, broker, events, base } = app);
    await broker.channels.put(newChannelConfig('door', 1, { paused: true, allowedCommands: ['echo'] }));
  });
  after(() => app?.close());

  const post = async (route: string, body: unknown) => {
    const response = await fetch(base + route, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, code: response.headers.get('x-coyotes-error'), json: (await response.json()) as any };
  };

  test('an accepted task is in its channel queue; a delayed one is announced by the broker', async () => {
    const queued = await post('/channels/door/tasks', { command: 'echo', args: ['hi'], id: 'app-1' });
    assert.equal(queued.status, 200);
    assert.deepEqual(queued.json.data, { task_id: 'app-1', task_name: 'echo hi', result: true });
    assert.deepEqual(await redis.client.lrange(broker.keys.channel('door').queued, 0, -1), ['app-1']);

    const delayed = await post('/channels/door/tasks', { task: 'echo later', delay: 60 });
    assert.equal(delayed.status, 200);
    const id: string = delayed.json.data.task_id;
    const due = Number(await redis.client.zscore(broker.keys.channel('door').delayed, id));
    const event = await waitFor('the delayed event', () => events.find((e) => e.type === 'delayed'));
    assert.deepEqual(event, { type: 'delayed', channel: 'door', dueMs: due });
  });

  test('refusals carry their code and status; the log records them with structured fields, and nothing is queued', async () => {
    const before = await redis.client.llen(broker.keys.channel('door').queued);
    const offList = await post('/channels/door/tasks', { task: 'rm -rf /' });
    assert.equal(offList.status, 403);
    assert.equal(offList.code, 'COY_ERR_TASK_NOT_ALLOWED');
    const badId = await post('/channels/door/tasks', { task: 'echo x', id: 'bad id!' });
    assert.equal(badId.status, 400);
    assert.equal(badId.code, 'COY_ERR_REQUEST_INVALID');
    assert.equal(badId.json.message, TASK_ID_RULE);
    assert.equal(await redis.client.llen(broker.keys.channel('door').queued), before);
    const refused = logs.filter((line) => line.status === 403 && line.path === '/channels/door/tasks');
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.reason, 'command "rm" is not in the allowed_commands of channel door');
  });

  test('where the docs say string, a JSON number is taken as its text; true/false, objects, arrays and null are refused naming the field', async () => {
    const accepted = await post('/channels/door/tasks', {
      command: 'echo',
      args: [42, 1.5, -3, 'x'],
      env: { N: 7, F: 0.25 },
      id: 'numbers-1',
    });
    assert.equal(accepted.status, 200, accepted.json.message);
    const { spec } = (await broker.queries.get('door', 'numbers-1'))!;
    assert.deepEqual(spec.command, { name: 'echo', args: ['42', '1.5', '-3', 'x'] });
    assert.deepEqual(spec.env, { N: '7', F: '0.25' });
    await broker.channels.put(newChannelConfig('open', 1, { paused: true }));
    const short = await post('/channels/open', { task: 12345 });
    assert.equal(short.status, 200, short.json.message);
    assert.equal(short.json.data.task_name, '12345');

    const before = await redis.client.llen(broker.keys.channel('door').queued);
    const refusals: [unknown, string][] = [
      [{ task: true }, 'task must be a string'],
      [{ task: { line: 'echo' } }, 'task must be a string'],
      [{ task: null }, 'task is required'],
      [{ command: 'echo', args: [true] }, 'args must be a list of strings'],
      [{ command: 'echo', args: [{ a: 1 }] }, 'args must be a list of strings'],
      [{ command: 'echo', args: [null] }, 'args must be a list of strings'],
      [{ command: 'echo', args: [['nested']] }, 'args must be a list of strings'],
      [{ task: 'echo', env: { A: false } }, 'env.A must be a string'],
      [{ task: 'echo', env: { A: { b: 1 } } }, 'env.A must be a string'],
      [{ task: 'echo', env: { A: null } }, 'env.A must be a string'],
      [{ task: 'echo', env: { A: [1] } }, 'env.A must be a string'],
    ];
    for (const [body, message] of refusals) {
      const refused = await post('/channels/door/tasks', body);
      assert.deepEqual(
        [refused.status, refused.code, refused.json.message],
        [400, 'COY_ERR_REQUEST_INVALID', message],
        JSON.stringify(body),
      );
    }
    // a number JSON cannot write exactly (1e400 parses as Infinity) is refused, not stored as "Infinity"
    const huge = await fetch(`${base}/channels/door/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"command":"echo","args":[1e400]}',
    });
    assert.equal(huge.status, 400);
    assert.equal(((await huge.json()) as { message: string }).message, 'args must be a list of strings');
    assert.equal(await redis.client.llen(broker.keys.channel('door').queued), before, 'nothing refused was queued');
  });

  test('an unknown route is COY_ERR_ROUTE_NOT_FOUND', async () => {
    const response = await fetch(`${base}/nowhere`);
    assert.equal(response.status, 404);
    assert.equal(response.headers.get('x-coyotes-error'), 'COY_ERR_ROUTE_NOT_FOUND');
  });
});
