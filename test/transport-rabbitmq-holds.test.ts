import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { api } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { allSucceeded, queueState, startRabbitMQ, withRabbitHosts } from './helpers/rabbitmq.js';
import type { TestRabbitMQ } from './helpers/rabbitmq.js';
import { lines, mostAtOnce, stamped } from './helpers/stamps.js';
import { waitFor } from './helpers/wait.js';

// RabbitMQ transport: deliveries held while their tasks run (the server's consumer_timeout, a
// restart of the server under running tasks) and the global cap across hosts. The node of this
// file closes a channel holding a delivery for more than 10 s, as a production server does after
// 30 min: the tests run minutes of production in seconds.
const CONSUMER_TIMEOUT_MS = 10_000;
/** How long a holder's beat counts (BEAT_TTL_MS in rabbitmq-source.ts), plus a margin. */
const BEAT_WINDOW_MS = 7_000;

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-rabbitmq-holds-'));

let rabbit: TestRabbitMQ;
before(async () => {
  rabbit = await startRabbitMQ({ consumerTimeoutMs: CONSUMER_TIMEOUT_MS });
});
after(async () => {
  await rabbit.stop();
});

async function push(host: RunningCoyotes, channel: string, script: string): Promise<string> {
  const { status, json } = await api(host.baseUrl, 'POST', `/channels/${channel}/tasks`, { command: '/bin/sh', args: ['-c', script] });
  assert.equal(status, 200, JSON.stringify(json));
  return json.data.task_id as string;
}

describe('RabbitMQ transport: held deliveries and the global cap', () => {
  test("a task running past the server's consumer_timeout runs once: its delivery is acked at the hold deadline", async () => {
    await withRabbitHosts(rabbit, async (start) => {
      const c = await start({ COYOTES_RABBITMQ_HOLD_MS: '1000' });
      const runs = path.join(work, 'long-runs');
      const id = await push(c, 'default', `echo $$ >> ${runs}; sleep ${(CONSUMER_TIMEOUT_MS * 1.4) / 1000}`);
      await allSucceeded(c, [id]);
      assert.equal(lines(runs).length, 1, 'ran once');
      assert.deepEqual(
        c.logs().filter((record) => record.event === 'rabbitmq-reconnecting'),
        [],
        'RabbitMQ never closed the channel for a delivery held too long',
      );
    });
  });

  test('rabbitmq-server restarted under running tasks: their redeliveries are not run again while their holder lives', async () => {
    await withRabbitHosts(rabbit, async (start, prefix) => {
      const a = await start();
      const dir = mkdtempSync(path.join(work, 'restart-'));
      const go = path.join(dir, 'go');
      const ids: string[] = [];
      for (const n of [1, 2, 3]) ids.push(await push(a, 'default', `echo $$ >> ${dir}/${n}; while [ ! -f ${go} ]; do sleep 0.1; done`));
      await waitFor('the three tasks running on master A', () => [1, 2, 3].every((n) => lines(`${dir}/${n}`).length === 1), 30_000);
      // a second master with free slots, so redeliveries may reach another host than their holder
      await start();
      await rabbit.down();
      await rabbit.up();
      const queue = `${prefix}.default`;
      await waitFor(
        'both masters consuming again, every redelivery taken',
        async () => {
          const state = await queueState(rabbit, queue);
          return state.consumerCount === 2 && state.messageCount === 0;
        },
        60_000,
        200,
      );
      // nothing is awaited here but time: a redelivery taken over would start a second run within
      // this window (a first look at once, a second once the holder's beat could have lapsed)
      await sleep(BEAT_WINDOW_MS);
      assert.deepEqual(
        [1, 2, 3].map((n) => lines(`${dir}/${n}`).length),
        [1, 1, 1],
        'no task started twice',
      );
      writeFileSync(go, '');
      for (const id of ids) await allSucceeded(a, [id]);
      assert.deepEqual(
        [1, 2, 3].map((n) => lines(`${dir}/${n}`).length),
        [1, 1, 1],
        'each ran once',
      );
      // the results are in, the deliveries settled: the channel keeps working
      const after = path.join(dir, 'after');
      await allSucceeded(a, [await push(a, 'default', `echo ok > ${after}`)]);
      assert.deepEqual(lines(after), ['ok']);
    });
  });

  test('global_workers caps a channel’s running tasks across hosts on RabbitMQ too', async () => {
    await withRabbitHosts(rabbit, async (start) => {
      const hosts = [await start(), await start()];
      assert.equal((await api(hosts[0]!.baseUrl, 'POST', '/channels', { name: 'capped', worker: '3', global_workers: '2' })).status, 200);
      for (const host of hosts) {
        await waitFor('the capped channel started on every host', () =>
          host.logs().some((record) => record.event === 'channel-started' && record.channel === 'capped'),
        );
      }
      const log = path.join(work, 'capped.log');
      const ids: string[] = [];
      for (let n = 0; n < 10; n += 1) ids.push(await push(hosts[n % 2]!, 'capped', stamped(log, 'sleep 0.4')));
      await waitFor('all 10 capped tasks to finish', () => lines(log).length === 20, 60_000, 50);
      assert.equal(mostAtOnce(lines(log)), 2, 'never more than the cap of 2 (six slots across the hosts), and the cap is used');
      for (const id of ids) await allSucceeded(hosts[1]!, [id]);
    });
  });
});
