import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Broker } from '@coyotes/broker';
import { HOST_FIGURES_FRESH_MS, NODE_DEAD_AFTER_MS, resolveServerOptions } from '@coyotes/protocol';
import type { NodeInfo } from '@coyotes/protocol';
import { HostReport } from '../src/host-report.js';
import type { HostState } from '../src/host-report.js';
import { startRedis } from '../../../test/helpers/redis.js';
import type { TestRedis } from '../../../test/helpers/redis.js';
import { waitFor } from '../../../test/helpers/wait.js';

const NODE_ID = 'report-node';

/** What master tells Redis about its host, alone: a real Redis and broker, a clock of the test's, no processes. */
describe('host report: heartbeat and host figures', () => {
  let redis: TestRedis;
  let broker: Broker;
  let report: HostReport;
  let now = 5_000_000;
  const usage = {
    takenAt: 4_999_000,
    costMs: 1.234,
    pids: 2,
    processes: new Map([[process.pid, { cpu: 7, rss: 2048 }]]),
    commandGroups: new Map(),
  };
  const state: HostState = {
    nodeId: NODE_ID,
    host: 'report-host',
    spawner: 'node',
    apis: [
      { pid: 11, alive: true },
      { pid: 12, alive: false },
    ],
    channels: () => [
      { channel: 'a', pid: 21, alive: true, restarts: 0, cpu: null, rss: null, running: [], processed: 1, succeeded: 1, failed: 0 },
      // a deleted channel's process still draining, beside the new one of the same name
      {
        channel: 'a',
        pid: 22,
        alive: true,
        restarts: 0,
        cpu: null,
        rss: null,
        running: [{ taskId: 't1', pid: 31, cpu: null, rss: null, processes: 1 }],
        processed: 5,
        succeeded: 5,
        failed: 0,
      },
    ],
    usage,
    usageIntervalMs: 2000,
  };
  const node: NodeInfo = {
    nodeId: NODE_ID,
    hostname: 'report-host',
    pid: process.pid,
    version: 'test',
    startedAt: 1,
    httpAddr: '127.0.0.1:1',
    taskMode: true,
    channels: { a: 1 },
  };

  before(async () => {
    redis = await startRedis();
    broker = Broker.connect(resolveServerOptions({ redis: { host: '127.0.0.1', port: redis.port, db: 0 }, keyPrefix: 'report' }), {
      name: 'test',
    });
    report = new HostReport({
      broker,
      log: pino({ level: 'silent' }),
      node: () => node,
      state: () => state,
      intervalMs: 60_000,
      minGapMs: 1000,
      clock: () => now,
    });
  });
  after(async () => {
    report?.stop();
    await broker?.close();
    await redis?.stop();
  });

  test('a report writes the heartbeat and the figures, stamped by the clock and expiring within HOST_FIGURES_FRESH_MS', async () => {
    await report.start();
    const figures = await broker.nodes.figures(NODE_ID);
    assert.equal(figures?.publishedAt, now);
    assert.deepEqual(figures?.master, { pid: process.pid, cpu: 7, rss: 2048 });
    assert.deepEqual(figures?.apis, [
      { pid: 11, cpu: null, rss: null, alive: true },
      { pid: 12, cpu: null, rss: null, alive: false },
    ]);
    assert.deepEqual(figures?.api, figures?.apis[0]);
    assert.deepEqual(Object.keys(figures?.channels ?? {}), ['a']);
    assert.equal(figures?.channels.a?.pid, 21, "the defined channel's process");
    assert.deepEqual(
      figures?.channels.a?.running.map((task) => task.taskId),
      ['t1'],
      "the draining one's commands beside it",
    );
    assert.deepEqual(figures?.sample, { takenAt: 4_999_000, costMs: 1.23, pids: 2, intervalMs: 2000 });
    const ttl = await redis.client.pttl(broker.keys.nodeFigures(NODE_ID));
    assert.ok(ttl > 0 && ttl <= HOST_FIGURES_FRESH_MS, `figures expire (pttl ${ttl})`);
    assert.deepEqual(
      (await broker.nodes.live(NODE_DEAD_AFTER_MS)).map((n) => n.nodeId),
      [NODE_ID],
    );
  });

  test('a change once the least gap has passed (by the clock) publishes the figures at once', async () => {
    now += 1000;
    report.changed();
    await waitFor('figures published again', async () => (await broker.nodes.figures(NODE_ID))?.publishedAt === now);
  });

  test('draining: figures go on, the heartbeat stops; forget removes both', async () => {
    report.drain();
    const heartbeat = await redis.client.zscore(broker.keys.nodes, NODE_ID);
    now += 5000;
    await report.report();
    assert.equal((await broker.nodes.figures(NODE_ID))?.publishedAt, now);
    assert.equal(await redis.client.zscore(broker.keys.nodes, NODE_ID), heartbeat);
    await broker.nodes.forget(NODE_ID);
    assert.equal(await broker.nodes.figures(NODE_ID), null);
  });
});
