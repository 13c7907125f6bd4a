import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { Broker, BrokerEvent } from '@coyotes/broker';
import { HOST_FIGURES_FRESH_MS } from '@coyotes/protocol';
import type { HostFigures } from '@coyotes/protocol';
import { waitFor } from '../../../test/helpers/wait.js';
import { appInProcess } from './in-process.js';
import type { AppInProcess } from './in-process.js';

const NODE_ID = 'figures-test-node';

/** Figures as a master publishes them, with one channel process running one command. */
function figuresAt(publishedAt: number): HostFigures {
  const none = { pid: null, cpu: null, rss: null };
  return {
    nodeId: NODE_ID,
    host: 'here',
    publishedAt,
    spawner: 'native',
    channels: {
      seen: {
        channel: 'seen',
        pid: 4242,
        alive: true,
        restarts: 1,
        cpu: 12.5,
        rss: 1000,
        running: [],
        processed: 3,
        succeeded: 2,
        failed: 1,
      },
    },
    api: { ...none, pid: 4241, alive: true },
    apis: [{ ...none, pid: 4241, alive: true }],
    master: { ...none, pid: 4240 },
    sample: { takenAt: publishedAt, costMs: 0.5, pids: 3, intervalMs: 2000 },
  };
}

/**
 * The app in process, with no master at all: channel changes are written through the broker
 * (which announces them to every master), and what a route shows of this host's processes comes
 * from the figures its master published, judged fresh by the clock the app is given.
 */
describe('the app in process: channel writes and host figures need no master', () => {
  let app: AppInProcess;
  let broker: Broker;
  let events: BrokerEvent[];
  let base: string;
  let now = 1_000_000;

  before(async () => {
    app = await appInProcess({
      options: { keyPrefix: 'figures-test', concurrent: 3 },
      log: pino({ level: 'silent' }),
      nodeId: NODE_ID,
      clock: () => now,
    });
    ({ broker, events, base } = app);
  });
  after(() => app?.close());

  const call = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(base + route, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, code: response.headers.get('x-coyotes-error'), json: (await response.json()) as any };
  };
  const changed = (name: string) =>
    waitFor(`channel-changed of ${name}`, () => events.find((e) => e.type === 'channel-changed' && e.name === name));

  test('POST /channels writes the definition (-concurrent workers by default) and the broker announces it', async () => {
    const created = await call('POST', '/channels', { name: 'seen', distinct: true });
    assert.equal(created.status, 200);
    assert.deepEqual(created.json, { status_code: 200, message: 'ok', data: null });
    assert.deepEqual(await changed('seen'), { type: 'channel-changed', name: 'seen' });
    const stored = await broker.channels.get('seen');
    assert.equal(stored?.workers, 3);
    assert.equal(stored?.distinct, true);
  });

  test('PATCH merges into what is stored; DELETE keeps it retired; both announce it; an unknown name is 404', async () => {
    events.length = 0;
    const patched = await call('PATCH', '/channels/seen', { worker: 5 });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.data.workers, 5);
    assert.equal(patched.json.data.distinct, true, 'a field the PATCH did not name stays as stored');
    await changed('seen');
    assert.equal((await broker.channels.get('seen'))?.workers, 5);

    const bad = await call('POST', '/channels', { name: 'bad name!' });
    assert.deepEqual([bad.status, bad.code], [400, 'COY_ERR_CHANNEL_NAME_INVALID']);

    await broker.channels.put({ ...(await broker.channels.get('seen'))!, name: 'doomed' });
    events.length = 0;
    const deleted = await call('DELETE', '/channels/doomed');
    assert.equal(deleted.status, 200);
    await changed('doomed');
    assert.equal(await broker.channels.get('doomed'), null);
    assert.deepEqual(
      (await broker.channels.retired()).map((c) => c.name),
      ['doomed'],
    );
    const missing = await call('DELETE', '/channels/doomed');
    assert.deepEqual([missing.status, missing.code], [404, 'COY_ERR_CHANNEL_NOT_FOUND']);
  });

  test('an unknown field is a 400 naming it and the fields taken, on POST and PATCH alike, and changes nothing', async () => {
    await broker.channels.put({ ...(await broker.channels.get('seen'))!, name: 'typos', workers: 2 });
    const before = await broker.channels.get('typos');
    events.length = 0;
    const patched = await call('PATCH', '/channels/typos', { workers: '3' });
    assert.deepEqual([patched.status, patched.code], [400, 'COY_ERR_REQUEST_INVALID']);
    assert.match(
      patched.json.message,
      /^unknown field "workers" \(this route takes worker, paused, distinct, max_retries, timeout, shell, global_workers, allowed_commands/,
    );
    const mixed = await call('PATCH', '/channels/typos', { worker: 4, distinkt: true });
    assert.deepEqual([mixed.status, mixed.code], [400, 'COY_ERR_REQUEST_INVALID'], 'a known field beside it is not applied either');
    assert.match(mixed.json.message, /unknown field "distinkt"/);
    assert.deepEqual(await broker.channels.get('typos'), before);

    const created = await call('POST', '/channels', { name: 'typo-new', workers: 3 });
    assert.deepEqual([created.status, created.code], [400, 'COY_ERR_REQUEST_INVALID']);
    assert.match(created.json.message, /^unknown field "workers" \(this route takes name, worker, /);
    assert.equal(await broker.channels.get('typo-new'), null);
    assert.deepEqual(events, [], 'nothing announced');

    // every field the seed and docs name is still taken, by both routes
    const settings = {
      worker: 2,
      paused: true,
      distinct: false,
      max_retries: 1,
      timeout: 5,
      shell: false,
      global_workers: 0,
      allowed_commands: ['echo'],
    };
    assert.equal((await call('POST', '/channels', { name: 'typo-new', ...settings })).status, 200);
    assert.equal((await call('PATCH', '/channels/typo-new', settings)).status, 200);
  });

  test('fresh figures: /health is well and shows them, /channels and /stats show the channel process', async () => {
    now = 1_000_000;
    await broker.nodes.publishFigures(figuresAt(now));
    const health = await call('GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(health.json.data.master, true);
    assert.equal(health.json.data.spawner, 'native');
    assert.deepEqual(health.json.data.processes, figuresAt(now));
    const listing = await call('GET', '/channels/seen');
    assert.deepEqual(listing.json.data.process, {
      pid: 4242,
      alive: true,
      cpu: 12.5,
      rss: 1000,
      restarts: 1,
      processed: 3,
      succeeded: 2,
      failed: 1,
    });
    const stats = await call('GET', '/stats');
    assert.equal(stats.json.data.node_id, NODE_ID);
    assert.equal(stats.json.data.channels.find((row: { name: string }) => row.name === 'seen').process.pid, 4242);
  });

  test('figures older than HOST_FIGURES_FRESH_MS say nothing: /health is 503 with master false, listings show no process', async () => {
    now = 1_000_000 + HOST_FIGURES_FRESH_MS + 1;
    const health = await call('GET', '/health');
    assert.equal(health.status, 503);
    assert.deepEqual([health.json.data.redis, health.json.data.master, health.json.data.processes], [true, false, null]);
    assert.equal((await call('GET', '/channels')).json.data.seen.process, null);
    assert.equal((await call('GET', '/stats')).json.data.node_id, null);
    // published again: well again
    await broker.nodes.publishFigures(figuresAt(now));
    assert.equal((await call('GET', '/health')).status, 200);
  });
});
