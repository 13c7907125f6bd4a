// Redis Cluster: three primaries on loopback. The broker's delivery tests run against a cluster
// of their own, and two real masters on this one run channels spread across slots, the legacy
// ingress list, delays, kills and a host's death, with no CROSSSLOT error anywhere.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCluster } from './helpers/cluster.js';
import type { TestCluster } from './helpers/cluster.js';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { killHost, runningOn } from './helpers/hosts.js';
import { keys } from './helpers/keys.js';
import { waitFor } from './helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CHANNELS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];

let cluster: TestCluster;
let hosts: RunningCoyotes[] = [];
let work: string;

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

async function status(id: string): Promise<any> {
  return (await api(hosts[0]!.baseUrl, 'GET', `/tasks/${id}`)).json.data;
}

describe('Redis Cluster', () => {
  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'coyotes-cluster-'));
    cluster = await startCluster(3);
    hosts = await Promise.all(
      [1, 2].map(() => startCoyotes({ redisAddr: cluster.nodes[0]!.addr, args: ['-redis-cluster', cluster.seeds, '-concurrent', '2'] })),
    );
  });

  after(async () => {
    for (const host of hosts) killHost(host);
    await Promise.all(hosts.map((h) => h.exited));
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('the broker’s delivery tests pass on a cluster of their own, with no CROSSSLOT error', async () => {
    const files = readdirSync(path.join(ROOT, 'packages/broker/test'))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => `packages/broker/test/${f}`);
    // without NODE_TEST_CONTEXT, or node:test takes the child for a nested run and skips the files
    const { NODE_TEST_CONTEXT: _nested, ...env } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', ...files], {
      cwd: ROOT,
      env: { ...env, COYOTES_TEST_TOPOLOGY: 'cluster' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0, output.slice(-3000));
    assert.match(output, /# fail 0/);
    assert.match(output, /# pass [1-9]\d*/);
    assert.doesNotMatch(output, /CROSSSLOT|MOVED|ASK /);
  });

  test('channels spread across the cluster’s primaries, and tasks pushed over HTTP run in each', async () => {
    for (const name of CHANNELS) assert.equal((await api(hosts[1]!.baseUrl, 'POST', '/channels', { name, worker: '2' })).status, 200);
    const owners = new Set(await Promise.all(CHANNELS.map(async (c) => (await cluster.nodeOf(keys.channel(c).queued)).port)));
    assert.ok(owners.size >= 2, `channels on ${owners.size} primaries`);
    const ids: string[] = [];
    for (const [n, channel] of CHANNELS.entries()) {
      const { json } = await api(hosts[n % 2]!.baseUrl, 'POST', `/channels/${channel}/tasks`, { task: `touch ${work}/http-${channel}` });
      assert.equal(json.data.result, true, JSON.stringify(json));
      ids.push(json.data.task_id as string);
    }
    await waitFor(
      'every channel’s task to succeed',
      async () => (await Promise.all(ids.map(status))).every((v) => v.status === 'succeeded'),
      20_000,
    );
    for (const channel of CHANNELS) assert.ok(existsSync(`${work}/http-${channel}`));
  });

  test('the legacy task:prepare:queue works, its in-flight list in the same slot', async () => {
    const slot = async (key: string) => Number(await cluster.client.call('CLUSTER', 'KEYSLOT', key));
    assert.equal(await slot(keys.prepareInFlight('any-node')), await slot(keys.prepareQueue));
    const entries = Array.from({ length: 60 }, (_, n) =>
      JSON.stringify({ task: `touch ${work}/ingress-${n}`, chan: ['default', ...CHANNELS][n % 7], ts: 1 }),
    );
    await cluster.client.lpush(keys.prepareQueue, ...entries);
    await waitFor('every ingress entry to run', () => readdirSync(work).filter((f) => f.startsWith('ingress-')).length === 60, 20_000);
    assert.equal(await cluster.client.llen(keys.prepareQueue), 0);
    assert.equal(await cluster.client.llen(keys.deadLetters), 0);
  });

  test('delays, distinct channels and kills work on the cluster', async () => {
    assert.equal((await api(hosts[0]!.baseUrl, 'POST', '/channels', { name: 'once', distinct: 'true' })).status, 200);
    const first = await api(hosts[0]!.baseUrl, 'POST', '/channels/once/tasks', { task: 'sleep 60' });
    assert.equal(first.json.data.result, true);
    const again = await api(hosts[1]!.baseUrl, 'POST', '/channels/once/tasks', { task: 'sleep 60' });
    assert.equal(again.json.data.result, false, 'refused as a duplicate while it runs');
    await waitFor('the distinct task to run', async () => (await status(first.json.data.task_id)).status === 'running');
    assert.equal((await api(hosts[1]!.baseUrl, 'POST', `/tasks/${first.json.data.task_id}/kill`)).status, 200);
    await waitFor('the kill', async () => (await status(first.json.data.task_id)).status === 'failed');

    const delayed = await api(hosts[1]!.baseUrl, 'POST', '/channels/c3/tasks', { task: `touch ${work}/delayed`, delay: '1' });
    assert.equal((await status(delayed.json.data.task_id)).status, 'delayed');
    await waitFor('the delayed task to run', () => existsSync(`${work}/delayed`), 10_000);
  });

  test('a host dies mid-command: the other master runs its task after the lease', async () => {
    const attempts = path.join(work, 'attempts');
    const script = `echo $$ >> ${attempts}; [ $(wc -l < ${attempts}) -ge 2 ] || sleep 60`;
    const { json } = await api(hosts[0]!.baseUrl, 'POST', '/channels/c5/tasks', { command: '/bin/sh', args: ['-c', script] });
    await waitFor('the first attempt', () => lines(attempts).length === 1);
    const { json: nodes } = await api(hosts[0]!.baseUrl, 'GET', '/nodes');
    const known = nodes.data as { nodeId: string; httpAddr: string }[];
    const nodeIds = known.map((n) => n.nodeId);
    const runner = await waitFor('a host to report the task running', async () =>
      (await runningOn(cluster.client, nodeIds, 'c5')).get(json.data.task_id as string),
    );
    const victim = hosts.findIndex((h) => known.some((n) => n.nodeId === runner && n.httpAddr === h.httpAddr));
    killHost(hosts[victim]!, lines(attempts).map(Number));
    hosts = hosts.filter((_, i) => i !== victim);
    await waitFor('the task to succeed on the survivor', async () => (await status(json.data.task_id)).status === 'succeeded', 20_000);
    assert.equal(lines(attempts).length, 2);
    for (const host of hosts) assert.doesNotMatch(host.output(), /CROSSSLOT/);
  });
});
