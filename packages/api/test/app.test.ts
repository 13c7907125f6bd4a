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

  test('an unknown route is COY_ERR_ROUTE_NOT_FOUND', async () => {
    const response = await fetch(`${base}/nowhere`);
    assert.equal(response.status, 404);
    assert.equal(response.headers.get('x-coyotes-error'), 'COY_ERR_ROUTE_NOT_FOUND');
  });
});
