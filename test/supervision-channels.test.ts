import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { FORKS_GRANDCHILDREN, allGone, childrenOf, isAlive, killAll, treePids } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-channels-'));
const file = (name: string) => path.join(work, name);

/** A command that marks its start, then runs until its gate file exists. */
const gated = (name: string, gate: string) => ({
  command: '/bin/sh',
  args: ['-c', `touch ${file(`${name}.started`)}; until [ -e ${gate} ]; do sleep 0.05; done; touch ${file(`${name}.finished`)}`],
  task: name,
});
const started = (name: string) => existsSync(file(`${name}.started`));
const queuedCount = (redis: TestRedis, channel: string) => redis.client.llen(keys.channel(channel).queued);

describe('channels change live through the HTTP API', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  const channel = async (name: string) => (await api(coyotes.baseUrl, 'GET', `/channels/${name}`)).json;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '1'] });
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('create forks a process; grow starts slots at once; shrink kills nothing; pause takes nothing; delete drains', async (t) => {
    const runnersBefore = childrenOf(coyotes.pid).filter((c) => c.cmd.includes('runner/dist/child.js')).length;
    const createdAt = Date.now();
    const created = await api(coyotes.baseUrl, 'POST', '/channels', { name: 'live', worker: '2' });
    assert.equal(created.json.status_code, 200);
    await api(coyotes.baseUrl, 'POST', '/channels/live/tasks', { task: `touch ${file('first')}` });
    await waitFor('the new channel to run a command', () => existsSync(file('first')));
    t.diagnostic(`create to first command run: ${Date.now() - createdAt} ms (includes forking the process)`);
    await waitFor('its result', async () => (await channel('live')).data.process?.processed === 1);
    const { pid } = await waitFor(
      'the channel process',
      async () => (await channel('live')).data?.process?.alive && (await channel('live')).data.process,
    );
    assert.ok(childrenOf(coyotes.pid).some((c) => c.pid === pid && c.cmd.includes('runner/dist/child.js')));
    assert.equal(childrenOf(coyotes.pid).filter((c) => c.cmd.includes('runner/dist/child.js')).length, runnersBefore + 1);

    const gate1 = file('gate1');
    for (const name of ['a1', 'a2', 'a3']) await api(coyotes.baseUrl, 'POST', '/channels/live/tasks', gated(name, gate1));
    await waitFor('two slots busy', () => started('a1') && started('a2'));
    let listing = await channel('live');
    assert.equal(listing.data.workers, 2);
    assert.deepEqual(
      listing.data.tasks.map((task: { status: string }) => task.status),
      ['running', 'running', 'queued'],
    );

    // grow: the queued task starts without waiting for a slot to free
    const grownAt = Date.now();
    const grown = await api(coyotes.baseUrl, 'PATCH', '/channels/live', { worker: '3' });
    assert.equal(grown.json.data.workers, 3);
    await waitFor('the third slot to start the queued task', () => started('a3'));
    t.diagnostic(`grow to first command start: ${Date.now() - grownAt} ms (includes the command's spawn)`);

    // shrink below what runs: all three keep running
    await api(coyotes.baseUrl, 'PATCH', '/channels/live', { worker: '1' });
    listing = await channel('live');
    assert.equal(listing.data.workers, 1);
    const commandPids = listing.data.tasks.map((task: { pid: number }) => task.pid);
    assert.equal(commandPids.length, 3);
    writeFileSync(gate1, '');
    await waitFor('the three to finish on their own', () => ['a1', 'a2', 'a3'].every((n) => existsSync(file(`${n}.finished`))));

    // one slot now: of two new tasks one starts, the other waits
    const gate2 = file('gate2');
    for (const name of ['b1', 'b2']) await api(coyotes.baseUrl, 'POST', '/channels/live/tasks', gated(name, gate2));
    await waitFor('one of them to start', () => started('b1'));
    listing = await channel('live');
    assert.deepEqual(
      listing.data.tasks.map((task: { status: string }) => task.status),
      ['running', 'queued'],
    );

    // pause: the running one goes on, the queued one is not taken when the slot frees
    const pausedAt = Date.now();
    const paused = await api(coyotes.baseUrl, 'PATCH', '/channels/live', { paused: 'true' });
    t.diagnostic(`pause answered (applied by master, sent to the channel process) in ${Date.now() - pausedAt} ms`);
    assert.equal(paused.json.data.paused, true);
    writeFileSync(gate2, '');
    await waitFor('b1 to finish', () => existsSync(file('b1.finished')));
    await waitFor('b1 to be recorded', async () => (await channel('live')).data.count === 1);
    listing = await channel('live');
    assert.equal(listing.data.paused, true);
    assert.deepEqual(
      listing.data.tasks.map((task: { task_name: string; status: string }) => [task.task_name, task.status]),
      [['b2', 'queued']],
    );
    assert.ok(!started('b2'), 'a paused channel starts nothing');
    await api(coyotes.baseUrl, 'PATCH', '/channels/live', { paused: 'false' });
    await waitFor('b2 to start once resumed', () => started('b2'));

    // delete: the running command finishes and is recorded, then the process exits
    const gate3 = file('gate3');
    await api(coyotes.baseUrl, 'POST', '/channels/live/tasks', gated('c1', gate3));
    await waitFor('c1 to start', () => started('c1'));
    const deleted = await api(coyotes.baseUrl, 'DELETE', '/channels/live');
    assert.equal(deleted.json.status_code, 200);
    assert.equal((await channel('live')).status_code, 404);
    assert.ok(isAlive(pid), 'the channel process drains: it lives while its command runs');
    writeFileSync(gate3, '');
    await allGone([pid]);
    assert.ok(existsSync(file('c1.finished')), 'the running command was not killed');
    const stats = await redis.client.hgetall(keys.channel('live').stats);
    assert.equal(stats.succeeded, '7', 'every command of the channel was recorded, the last one after the delete');
  });

  test('a busy channel never runs more commands than its workers, also right after it shrinks', async () => {
    await api(coyotes.baseUrl, 'POST', '/channels', { name: 'bounded', worker: '3' });
    const log = file('bounded.log');
    // each command writes "<ns> +1" when it starts and "<ns> -1" before it exits
    const task = { command: '/bin/sh', args: ['-c', `echo "$(date +%s%N) 1" >> ${log}; sleep 0.02; echo "$(date +%s%N) -1" >> ${log}`] };
    const intervals = (): { start: number; end: number }[] => {
      const starts: number[] = [];
      const ends: number[] = [];
      for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
        const [ns, delta] = line.split(' ');
        (delta === '1' ? starts : ends).push(Number(BigInt(ns!) / 1_000_000n));
      }
      starts.sort((a, b) => a - b);
      ends.sort((a, b) => a - b);
      return starts.map((start, i) => ({ start, end: ends[i]! }));
    };
    /** Most commands seen running at once among those that started at or after `from` (ms). */
    const mostAtOnce = (from: number): number => {
      const events = intervals()
        .filter((interval) => interval.start >= from)
        .flatMap(({ start, end }) => [
          [start, 1],
          [end, -1],
        ])
        .sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
      let running = 0;
      let most = 0;
      for (const [, delta] of events) most = Math.max(most, (running += delta!));
      return most;
    };
    // queued while paused, so the batch is waiting in full when the channel resumes (pushing is slower than running)
    const push = async (count: number): Promise<void> => {
      await api(coyotes.baseUrl, 'PATCH', '/channels/bounded', { paused: 'true' });
      for (let i = 0; i < count; i += 1) await api(coyotes.baseUrl, 'POST', '/channels/bounded/tasks', task);
      await api(coyotes.baseUrl, 'PATCH', '/channels/bounded', { paused: 'false' });
    };
    const succeeded = async (): Promise<number> => Number(await redis.client.hget(keys.channel('bounded').stats, 'succeeded'));

    await push(40);
    await waitFor('40 commands done', async () => (await succeeded()) === 40, 60_000);
    assert.equal(mostAtOnce(0), 3, 'three slots used, never a fourth');

    await push(120);
    await waitFor('a few of the next batch done', async () => (await succeeded()) >= 43);
    const shrunkAt = Date.now();
    await api(coyotes.baseUrl, 'PATCH', '/channels/bounded', { worker: '1' });
    await waitFor('160 commands done', async () => (await succeeded()) === 160, 60_000);
    // commands that were running when it shrank finish within their 20 ms; from then on, one at a time
    const settled = shrunkAt + 200;
    assert.ok(intervals().filter((interval) => interval.start >= settled).length >= 10, 'the batch ran on after the shrink');
    assert.equal(mostAtOnce(settled), 1);
    await api(coyotes.baseUrl, 'DELETE', '/channels/bounded');
  });

  test('GET /channels shows each process and each running command with CPU and memory of its whole tree', async () => {
    await api(coyotes.baseUrl, 'POST', '/channels', { name: 'watched', worker: '2' });
    await waitFor('the channel process', async () => (await channel('watched')).data?.process?.alive);
    await api(coyotes.baseUrl, 'POST', '/channels/watched/tasks', { task: 'true' });
    await api(coyotes.baseUrl, 'POST', '/channels/watched/tasks', { task: 'false' });
    await waitFor('two results', async () => (await channel('watched')).data.process.processed === 2);
    const { json } = await api(coyotes.baseUrl, 'POST', '/channels/watched/tasks', {
      command: '/bin/sh',
      args: [FORKS_GRANDCHILDREN, file('watched-tree')],
    });
    const tree = await treePids(file('watched-tree'));
    try {
      // the first sample of a pid has no CPU figure yet: wait for the command to be sampled
      const listing = await waitFor(
        'a sample of the command',
        async () => {
          const all = (await api(coyotes.baseUrl, 'GET', '/channels')).json.data;
          return all.watched.tasks[0]?.rss > 0 && all;
        },
        10_000,
      );
      const { process: proc, tasks } = listing.watched;
      assert.equal(proc.alive, true);
      assert.ok(childrenOf(coyotes.pid).some((c) => c.pid === proc.pid));
      assert.ok(proc.rss > 10 * 1024 * 1024, `a Node process has more than 10 MB resident (${proc.rss})`);
      assert.equal(typeof proc.cpu, 'number');
      assert.deepEqual([proc.restarts, proc.processed, proc.succeeded, proc.failed], [0, 2, 1, 1]);
      assert.equal(tasks.length, 1);
      assert.equal(tasks[0].task_name, `/bin/sh ${FORKS_GRANDCHILDREN} ${file('watched-tree')}`);
      assert.equal(tasks[0].pid, tree[0], 'the pid is the command leader');
      const leaderRss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${tree[0]}/status`, 'utf8'))![1]) * 1024;
      assert.ok(tasks[0].rss > leaderRss, `the group's memory (${tasks[0].rss}) sums more than the leader's (${leaderRss})`);
      assert.equal(typeof tasks[0].cpu, 'number');
      // the same figures through the per-channel route
      const one = await channel('watched');
      assert.equal(one.data.process.pid, proc.pid);
      assert.equal(one.data.tasks[0].pid, tree[0]);
      await api(coyotes.baseUrl, 'POST', `/tasks/${json.data.task_id}/kill`);
      await allGone(tree);
    } finally {
      killAll(tree);
    }
  });
});

test('-task-mode=false: API and dispatching only, no channel process, nothing consumed', async () => {
  const redis = await startRedis();
  const coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-task-mode=false'] });
  try {
    const marker = file('task-mode-false');
    await redis.client.lpush(keys.prepareQueue, JSON.stringify({ task: `touch ${marker}`, chan: 'default', ts: 1 }));
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/biz/tasks', { task: `touch ${marker}` });
    assert.equal(pushed.json.status_code, 200);
    // the dispatcher still moves ingress entries into their channel
    await waitFor(
      'the ingress entry to be queued',
      async () => (await api(coyotes.baseUrl, 'GET', '/channels/default')).json.data.count === 1,
    );
    const children = childrenOf(coyotes.pid);
    assert.deepEqual(
      children.map((c) => c.cmd.includes('api/dist/child.js')),
      [true],
      'the api process is the only child',
    );
    const all = (await api(coyotes.baseUrl, 'GET', '/channels')).json.data;
    assert.equal(all.default.process, null);
    assert.deepEqual(all.biz.tasks, [
      { task_name: `touch ${marker}`, channel: 'biz', status: 'queued', task_id: all.biz.tasks[0]?.task_id },
    ]);
    assert.match(all.biz.tasks[0].task_id, /^[A-Za-z0-9]{21}$/);
    assert.ok(!existsSync(marker));
    assert.deepEqual(await coyotes.stop('SIGTERM'), { code: 0, signal: null });
    assert.equal(await queuedCount(redis, 'default'), 1, 'still queued after the stop');
    assert.equal(await queuedCount(redis, 'biz'), 1);
  } finally {
    await coyotes.stop('SIGKILL');
    await redis.stop();
  }
});
