// Redis Sentinel: Coyotes follows the primary the sentinels name. A producer pushes without a
// pause while the primary is SIGKILLed; the replica is promoted, Coyotes reconnects without a
// restart and keeps consuming. Counts how many acknowledged tasks ran (async replication).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { killHost } from './helpers/hosts.js';
import { keys } from './helpers/keys.js';
import { SENTINEL_NAME, startSentinels } from './helpers/sentinel.js';
import type { TestSentinels } from './helpers/sentinel.js';
import { waitFor } from './helpers/wait.js';

let sentinels: TestSentinels;
let coyotes: RunningCoyotes | undefined;
let work: string;

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'coyotes-sentinel-'));
  sentinels = await startSentinels();
});

after(async () => {
  if (coyotes) killHost(coyotes);
  await coyotes?.exited;
  await sentinels.stop();
  rmSync(work, { recursive: true, force: true });
});

/** One acknowledged push: its sequence number and when the 200 arrived. */
interface Ack {
  n: number;
  at: number;
}

test('the primary dies under a steady push: Coyotes follows the promoted replica and keeps consuming', async (t) => {
  coyotes = await startCoyotes({
    // -redis-host is set by the harness and ignored: the sentinels name the primary
    redisAddr: '127.0.0.1:1',
    args: ['-redis-sentinels', sentinels.sentinels, '-redis-sentinel-name', SENTINEL_NAME, '-concurrent', '4'],
  });
  const pid = coyotes.pid;
  const acks: Ack[] = [];
  let refused = 0;
  let pushing = true;
  const producer = (async () => {
    for (let n = 0; pushing; n += 1) {
      try {
        const { status } = await api(coyotes!.baseUrl, 'POST', '/channels/default/tasks', { task: `touch ${work}/${n}` });
        if (status === 200) acks.push({ n, at: Date.now() });
        else refused += 1;
      } catch {
        refused += 1;
      }
    }
  })();
  const ran = (ack: Ack) => existsSync(path.join(work, String(ack.n)));

  await waitFor('a steady flow of acknowledged pushes', () => acks.length >= 30, 20_000);
  // checkpoint: once the replica has acknowledged a write made after these pushes, it holds them all
  const caughtUp = acks.length;
  await sentinels.primary.client.set('coyotes-test:checkpoint', '1');
  assert.equal(await sentinels.primary.client.wait(1, 5000), 1, 'the replica caught up');
  await waitFor('more pushes after the checkpoint', () => acks.length >= caughtUp + 20, 20_000);

  const killedAt = Date.now();
  sentinels.primary.process.kill('SIGKILL');
  await waitFor(
    'the sentinels to promote the replica',
    async () => (await sentinels.currentPrimary()) === sentinels.replica.addr,
    30_000,
    100,
  );
  const promotedAt = Date.now();
  await waitFor('pushes acknowledged by the new primary', () => acks.filter((a) => a.at > promotedAt).length >= 30, 30_000);
  pushing = false;
  await producer;

  const afterFailover = acks.filter((a) => a.at > promotedAt);
  await waitFor('every task acknowledged after the failover to run', () => afterFailover.every(ran), 30_000, 100);
  await waitFor('every task acknowledged before the checkpoint to run', () => acks.slice(0, caughtUp).every(ran), 30_000, 100);
  // what else will run has run by now: the queue is drained
  await waitFor('the queue to drain', async () => (await sentinels.client.llen(keys.channel('default').queued)) === 0, 30_000, 100);

  const beforeKill = acks.filter((a) => a.at < killedAt);
  const lost = acks.filter((a) => !ran(a));
  t.diagnostic(
    `acknowledged ${acks.length} (${beforeKill.length} before the kill, ${afterFailover.length} after the promotion), ` +
      `refused during failover ${refused}, failover took ${promotedAt - killedAt} ms, acknowledged but never run: ${lost.length}`,
  );
  assert.ok(
    lost.every((a) => a.n >= caughtUp && a.at < killedAt),
    'only pushes acknowledged by the old primary after the replica last caught up can be lost',
  );
  assert.equal(coyotes.process.exitCode, null, 'no restart: the same master still runs');
  assert.equal(coyotes.pid, pid);
  const { json } = await api(coyotes.baseUrl, 'GET', '/nodes');
  assert.equal((json.data as unknown[]).length, 1, 'its heartbeat continues on the new primary');
});
