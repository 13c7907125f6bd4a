import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Broker } from '@coyotes/broker';
import type { ClaimedTask } from '@coyotes/broker';
import { newChannelConfig, resolveServerOptions } from '@coyotes/protocol';
import type { ChannelConfig, TaskOutcome } from '@coyotes/protocol';
import { ChannelRunner } from '../src/index.js';
import type { RunnerHooks } from '../src/index.js';
import { loggedRecords } from '../../../test/helpers/logs.js';
import { isAlive } from '../../../test/helpers/processes.js';
import { startRedis } from '../../../test/helpers/redis.js';
import type { TestRedis } from '../../../test/helpers/redis.js';
import { waitFor } from '../../../test/helpers/wait.js';

/** What the hooks heard, in order: master's view of the channel process. */
type Heard = ['starting', string] | ['started', string, number | null] | ['finished', string, TaskOutcome, boolean];

/**
 * The channel's command slots alone, in this process: a real Redis and broker, real commands
 * (started by node:child_process), no master and no binary.
 */
describe('ChannelRunner in process', () => {
  let redis: TestRedis;
  let broker: Broker;
  const root = mkdtempSync(path.join(tmpdir(), 'coyotes-runner-'));
  const logged = loggedRecords();
  const log = pino({ level: 'debug' }, logged.stream);
  const runners: ChannelRunner[] = [];

  before(async () => {
    redis = await startRedis();
    broker = Broker.connect(resolveServerOptions({ redis: { host: '127.0.0.1', port: redis.port, db: 0 }, keyPrefix: 'runner' }), {
      name: 'test',
    });
  });
  after(async () => {
    for (const runner of runners) await runner.force();
    await broker?.close();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** A runner on `channel` whose hooks record what they hear, and the most tasks it had running at once. */
  const startRunner = (channel: ChannelConfig) => {
    const heard: Heard[] = [];
    let running = 0;
    let mostRunning = 0;
    const hooks: RunnerHooks = {
      starting: (task: ClaimedTask) => {
        heard.push(['starting', task.spec.id]);
        mostRunning = Math.max(mostRunning, ++running);
      },
      started: (task, pid) => heard.push(['started', task.spec.id, pid]),
      finished: (task, outcome, ok) => {
        heard.push(['finished', task.spec.id, outcome, ok]);
        running -= 1;
      },
    };
    const runner = new ChannelRunner(
      broker,
      channel,
      {
        commandRoot: root,
        killGraceMs: 500,
        outputTailBytes: 4096,
        host: 'h',
        nodeId: 'n',
        leaseMs: 10_000,
        leaseOwner: `n:${channel.name}`,
      },
      hooks,
      log.child({ channel: channel.name }),
    );
    runners.push(runner);
    runner.start();
    return { runner, heard, mostRunning: () => mostRunning };
  };

  /** A command that runs until `gate` exists, then exits 0. */
  const gated = (id: string, gate: string) => ({
    id,
    name: `wait for ${path.basename(gate)}`,
    command: { name: 'sh', args: ['-c', 'while [ ! -e "$1" ]; do sleep 0.02; done', 'sh', gate] },
  });
  const admit = async (channel: ChannelConfig, inputs: Parameters<Broker['admission']['admit']>[1]) => {
    for (const admitted of await broker.admission.admit(channel, inputs, 'http'))
      assert.ok(!('refused' in admitted), JSON.stringify(admitted));
  };
  const stateOf = async (channel: string, id: string) => (await broker.queries.get(channel, id))?.state;

  test('runs queued tasks no more than `workers` at a time and records each result; hooks hear starting, started, finished', async () => {
    const channel = newChannelConfig('two', 2);
    const gate = path.join(root, 'two-go');
    const ids = ['two-1', 'two-2', 'two-3', 'two-4'];
    await admit(
      channel,
      ids.map((id) => gated(id, gate)),
    );
    const { runner, heard, mostRunning } = startRunner(channel);
    await waitFor('two tasks running', () => runner.running.length === 2);
    assert.equal(await redis.client.llen(broker.keys.channel('two').queued), 2, 'the other two wait in the queue');
    writeFileSync(gate, '');
    await waitFor('four results', async () => (await broker.queries.stats('two')).succeeded === 4);
    for (const id of ids) assert.equal(await stateOf('two', id), 'succeeded');
    assert.equal(mostRunning(), 2);
    for (const id of ids) {
      const mine = heard.filter((entry) => entry[1] === id);
      assert.deepEqual(
        mine.map((entry) => entry[0]),
        ['starting', 'started', 'finished'],
        id,
      );
      assert.equal(typeof mine[1]![2], 'number', `${id}: started with its pid`);
      assert.deepEqual(mine[2]!.slice(2), ['exited', true]);
    }
    const finished = logged.records.filter((record) => record.event === 'task-finished' && record.channel === 'two');
    assert.deepEqual(finished.map((record) => record.taskId).sort(), ids);
    for (const record of finished) assert.deepEqual([record.outcome, record.exitCode, record.recorded], ['exited', 0, 'succeeded']);
  });

  test('configure applies at once: a paused channel claims nothing until resumed; more workers start more tasks', async () => {
    const paused = newChannelConfig('tuned', 1, { paused: true });
    const gate = path.join(root, 'tuned-go');
    await admit(
      paused,
      ['t-1', 't-2', 't-3'].map((id) => gated(id, gate)),
    );
    const { runner } = startRunner(paused);
    runner.configure({ ...paused, paused: false });
    await waitFor('one task running', () => runner.running.length === 1);
    assert.equal(await redis.client.llen(broker.keys.channel('tuned').queued), 2);
    runner.configure({ ...paused, paused: false, workers: 3 });
    await waitFor('three tasks running', () => runner.running.length === 3);
    writeFileSync(gate, '');
    await waitFor('three results', async () => (await broker.queries.stats('tuned')).succeeded === 3);
  });

  test('kill ends a running task’s group as "killed", and a kill that overtook its task’s claim still applies', async () => {
    const channel = newChannelConfig('kills', 2, { maxRetries: 3 });
    const { runner } = startRunner(channel);
    // asked before the task exists here: remembered, applied when the task arrives
    assert.equal(runner.kill('early'), false);
    await admit(channel, [gated('early', path.join(root, 'never')), gated('late', path.join(root, 'never'))]);
    await waitFor('the early task killed', async () => (await stateOf('kills', 'early')) === 'failed');
    await waitFor('the late task running', () => runner.running.some((task) => task.spec.id === 'late'));
    assert.equal(runner.kill('late'), true);
    await waitFor('the late task killed', async () => (await stateOf('kills', 'late')) === 'failed');
    for (const id of ['early', 'late']) {
      const view = await broker.queries.get('kills', id);
      // a kill is not retried, whatever max_retries says
      assert.deepEqual([view?.result?.outcome, view?.retries], ['killed', 0], id);
    }
  });

  test('drain takes no new task and resolves once the running one has finished and been recorded', async () => {
    const channel = newChannelConfig('drained', 1);
    const gate = path.join(root, 'drained-go');
    await admit(channel, [gated('d-1', gate), gated('d-2', gate)]);
    const { runner } = startRunner(channel);
    await waitFor('one task running', () => runner.running.length === 1);
    let drained = false;
    const draining = runner.drain().then(() => (drained = true));
    assert.equal(drained, false);
    writeFileSync(gate, '');
    await draining;
    const [first, second] = [await stateOf('drained', 'd-1'), await stateOf('drained', 'd-2')];
    assert.deepEqual([first, second].sort(), ['queued', 'succeeded']);
    assert.equal(await redis.client.llen(broker.keys.channel('drained').queued), 1);
  });

  test('force gives running tasks back to the queue, uncharged, and kills their commands', async () => {
    const channel = newChannelConfig('forced', 2);
    await admit(channel, [gated('f-1', path.join(root, 'never')), gated('f-2', path.join(root, 'never'))]);
    const { runner, heard } = startRunner(channel);
    await waitFor('both running', () => runner.running.length === 2);
    const pids = await waitFor('both pids', () => {
      const started = heard.filter((entry) => entry[0] === 'started').map((entry) => entry[2] as number);
      return started.length === 2 ? started : undefined;
    });
    await runner.force();
    for (const pid of pids) await waitFor(`command ${pid} gone`, () => !isAlive(pid));
    for (const id of ['f-1', 'f-2']) assert.equal(await stateOf('forced', id), 'queued', id);
    assert.equal(await redis.client.hlen(broker.keys.channel('forced').crashes), 0, 'not charged with a crash');
    assert.equal(await redis.client.hlen(broker.keys.channel('forced').running), 0);
  });

  test('a task that cannot start fails alone, with the reason; the one claimed beside it runs', async () => {
    const channel = newChannelConfig('unreadable', 2);
    const keys = broker.keys.channel('unreadable');
    await redis.client.hset(keys.tasks, 'garbled', '{not json');
    await redis.client.lpush(keys.queued, 'garbled');
    const marker = path.join(root, 'ran');
    await admit(channel, [{ id: 'fine', name: `touch ${marker}`, command: { name: 'touch', args: [marker] } }]);
    startRunner(channel);
    await waitFor('both results', async () => (await broker.queries.stats('unreadable')).processed === 2);
    assert.equal(await stateOf('unreadable', 'fine'), 'succeeded');
    assert.ok(existsSync(marker));
    const failed = await broker.queries.get('unreadable', 'garbled');
    assert.equal(failed?.result?.outcome, 'spawn-error');
    assert.match(failed?.result?.error ?? '', /^cannot start the task: stored task is not valid JSON/);
  });
});
