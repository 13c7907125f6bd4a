// Many hosts on one Redis: three masters as separate processes (own node ids, HTTP ports and
// pidfiles) share channels, tasks, kills and a cluster-wide cap, and survive one of them dying.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { killHost, runningOn as runningOnHosts } from './helpers/hosts.js';
import { startRedis } from './helpers/redis.js';
import { lines, mostAtOnce, stamped } from './helpers/stamps.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

/** Master's periodic reconcile: a change seen sooner came over pub/sub. */
const RECONCILE_MS = 5000;

let redis: TestRedis;
let hosts: RunningCoyotes[] = [];
let nodeIds: string[] = [];
let work: string;

/** Pushes a `/bin/sh -c script` task through a host's API; answers the task id. */
async function push(host: RunningCoyotes, channel: string, script: string): Promise<string> {
  const { status, json } = await api(host.baseUrl, 'POST', `/channels/${channel}/tasks`, { command: '/bin/sh', args: ['-c', script] });
  assert.equal(status, 200, JSON.stringify(json));
  return json.data.task_id as string;
}

async function task(host: RunningCoyotes, id: string): Promise<any> {
  return (await api(host.baseUrl, 'GET', `/tasks/${id}`)).json.data;
}

/** Which master runs each of the channel's tasks right now. */
const runningOn = (channel: string): Promise<Map<string, string>> => runningOnHosts(redis.client, nodeIds, channel);

/** Waits until a master logged `event` for the channel (matching `extra`); answers the log time. */
function loggedAt(host: RunningCoyotes, event: string, channel: string, extra: Record<string, unknown> = {}): Promise<number> {
  return waitFor(`${event} for ${channel} on ${host.httpAddr}`, () => {
    const line = host
      .logs()
      .find((l) => l.event === event && l.channel === channel && Object.entries(extra).every(([key, value]) => l[key] === value));
    return line ? Number(line.time) : undefined;
  });
}

describe('three masters on one redis-server', () => {
  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'coyotes-scale-'));
    redis = await startRedis();
    hosts = await Promise.all([1, 2, 3].map(() => startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] })));
    const { json } = await api(hosts[0]!.baseUrl, 'GET', '/nodes');
    const byAddr = new Map((json.data as { httpAddr: string; nodeId: string }[]).map((n) => [n.httpAddr, n.nodeId]));
    nodeIds = hosts.map((h) => byAddr.get(h.httpAddr)!);
  });

  after(async () => {
    // a drain that outlasts 10 s means a test left a command behind: end the host instead of waiting
    await Promise.all(
      hosts.map((h) => {
        const ending = setTimeout(() => killHost(h), 10_000);
        return h.stop('SIGTERM').finally(() => clearTimeout(ending));
      }),
    );
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('GET /nodes on any host lists the three live masters, each with its own node id and HTTP address', async () => {
    for (const host of hosts) {
      const { json } = await api(host.baseUrl, 'GET', '/nodes');
      const nodes = json.data as { nodeId: string; httpAddr: string; pid: number; channels: Record<string, number> }[];
      assert.deepEqual(nodes.map((n) => n.httpAddr).sort(), hosts.map((h) => h.httpAddr).sort());
      assert.equal(new Set(nodes.map((n) => n.nodeId)).size, 3);
      assert.deepEqual(
        nodes.map((n) => n.channels.default),
        [2, 2, 2],
      );
    }
    assert.equal(new Set(hosts.map((h) => h.pidfile)).size, 3, 'three pidfiles');
    assert.ok(nodeIds.every(Boolean));
  });

  test('a channel created, resized, paused and deleted through any host reaches every master over pub/sub', async (t) => {
    const latencies: number[] = [];
    const everywhere = async (asked: number, event: string, extra: Record<string, unknown> = {}) => {
      for (const host of hosts) latencies.push((await loggedAt(host, event, 'spread', extra)) - asked);
    };
    let asked = Date.now();
    assert.equal((await api(hosts[1]!.baseUrl, 'POST', '/channels', { name: 'spread', worker: '2' })).status, 200);
    await everywhere(asked, 'channel-started', { workers: 2 });
    asked = Date.now();
    assert.equal((await api(hosts[2]!.baseUrl, 'PATCH', '/channels/spread', { worker: '3' })).status, 200);
    await everywhere(asked, 'channel-reconfigured', { workers: 3, paused: false });
    asked = Date.now();
    assert.equal((await api(hosts[0]!.baseUrl, 'PATCH', '/channels/spread', { paused: 'true' })).status, 200);
    await everywhere(asked, 'channel-reconfigured', { paused: true });
    asked = Date.now();
    assert.equal((await api(hosts[1]!.baseUrl, 'DELETE', '/channels/spread')).status, 200);
    await everywhere(asked, 'channel-deleted');
    t.diagnostic(`change → applied on every master: max ${Math.max(...latencies)} ms over ${latencies.length} applications`);
    // sooner than the periodic reconcile could have: the change came over pub/sub
    for (const latency of latencies) assert.ok(latency < RECONCILE_MS - 1000, `applied after ${latency} ms`);
  });

  test('tasks pushed through any host spread across all three masters', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 24; n += 1) ids.push(await push(hosts[n % 3]!, 'default', 'sleep 0.3'));
    const ranOn = await waitFor(
      'all 24 tasks to succeed',
      async () => {
        const views = await Promise.all(ids.map((id) => task(hosts[0]!, id)));
        return views.every((v) => v.status === 'succeeded') ? views.map((v) => v.result.node_id as string) : undefined;
      },
      30_000,
      100,
    );
    assert.deepEqual([...new Set(ranOn)].sort(), [...nodeIds].sort(), 'every master ran some');
  });

  test('a kill sent through one host stops the task on the host running it', async () => {
    const started = path.join(work, 'kill-started');
    const id = await push(hosts[0]!, 'default', `touch ${started}; sleep 60`);
    // the command itself has begun, so its master has heard of it (a kill is sent to running tasks only)
    await waitFor('the command to start', () => existsSync(started));
    const runner = await waitFor('a host to report the task running', async () => (await runningOn('default')).get(id));
    const other = hosts[nodeIds.findIndex((nodeId) => nodeId !== runner)]!;
    assert.equal((await api(other.baseUrl, 'POST', `/tasks/${id}/kill`)).status, 200);
    const done = await waitFor('the kill', async () => {
      const view = await task(other, id);
      return view.status === 'failed' ? view : undefined;
    });
    assert.equal(done.result.outcome, 'killed');
    assert.equal(done.result.node_id, runner, 'killed where it ran');
  });

  test('global_workers caps a channel’s running tasks across every host', async () => {
    assert.equal((await api(hosts[0]!.baseUrl, 'POST', '/channels', { name: 'capped', worker: '3', global_workers: '2' })).status, 200);
    for (const host of hosts) await loggedAt(host, 'channel-started', 'capped');
    const log = path.join(work, 'capped.log');
    const script = stamped(log, 'sleep 0.4');
    const ids: string[] = [];
    for (let n = 0; n < 8; n += 1) ids.push(await push(hosts[n % 3]!, 'capped', script));
    await waitFor('all 8 capped tasks to finish', () => lines(log).length === 16, 30_000, 50);
    assert.equal(mostAtOnce(lines(log)), 2, 'never more than the cap of 2 (nine slots across the hosts), and the cap is used');
    for (const id of ids) assert.equal((await task(hosts[1]!, id)).status, 'succeeded');
  });

  test('SIGKILL one master mid-run: its tasks run on the survivors after the lease, none lost, only those in flight twice', async (t) => {
    const dir = mkdtempSync(path.join(work, 'host-death-'));
    const ids: string[] = [];
    for (let n = 0; n < 12; n += 1) {
      const script = `echo $$ >> ${dir}/${n}.starts; sleep 2; echo ok >> ${dir}/${n}.done`;
      ids.push(await push(hosts[n % 3]!, 'default', script));
    }
    const victim = 2;
    const running = await waitFor('every master to run two tasks', async () => {
      const now = await runningOn('default');
      const perNode = nodeIds.map((nodeId) => [...now.values()].filter((n) => n === nodeId).length);
      return perNode.every((count) => count === 2) ? now : undefined;
    });
    const inFlight = new Set([...running].filter(([, nodeId]) => nodeId === nodeIds[victim]).map(([id]) => id));
    killHost(hosts[victim]!);
    const killedAt = Date.now();
    const survivors = hosts.filter((_, i) => i !== victim);

    const gone = await waitFor('/nodes to drop the dead master', async () => {
      const { json } = await api(survivors[0]!.baseUrl, 'GET', '/nodes');
      return (json.data as unknown[]).length === 2 ? Date.now() - killedAt : undefined;
    });
    await waitFor('every task to finish', () => ids.every((_, n) => lines(`${dir}/${n}.done`).length > 0), 40_000, 100);

    const twice = ids.filter((_, n) => lines(`${dir}/${n}.starts`).length > 1);
    t.diagnostic(`dead master dropped from /nodes after ${gone} ms; ${inFlight.size} in flight on it, ${twice.length} ran twice`);
    assert.equal(inFlight.size, 2);
    assert.ok(
      twice.every((id) => inFlight.has(id)),
      'only tasks in flight on the dead host ran again',
    );
    for (const id of ids) {
      const view = await task(survivors[0]!, id);
      assert.equal(view.status, 'succeeded', `${id} succeeded`);
      assert.equal(view.retry_count, 0, 'a host death does not consume retries');
      if (inFlight.has(id)) assert.notEqual(view.result.node_id, nodeIds[victim], 'rerun on a survivor');
    }
    hosts = survivors;
  });
});
