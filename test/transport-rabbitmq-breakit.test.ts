import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { allSucceeded, queueState, startRabbitMQ, withAmqp, withRabbitHosts } from './helpers/rabbitmq.js';
import type { TestRabbitMQ } from './helpers/rabbitmq.js';
import { lines } from './helpers/stamps.js';
import { waitFor } from './helpers/wait.js';

// RabbitMQ transport, attacked as an operator and a hostile producer would: settings changed in
// bursts, queues declared by someone else, messages no Coyotes wrote.
const work = mkdtempSync(path.join(tmpdir(), 'coyotes-rabbitmq-breakit-'));

let rabbit: TestRabbitMQ;
before(async () => {
  rabbit = await startRabbitMQ();
});
after(async () => {
  await rabbit.stop();
});

async function channelStarted(host: RunningCoyotes, channel: string): Promise<void> {
  await waitFor(`channel ${channel} started`, () =>
    host.logs().some((record) => record.event === 'channel-started' && record.channel === channel),
  );
}

describe('RabbitMQ transport, attacked', () => {
  test('settings changed in a burst leave one consumer: a pause then stops consuming', async () => {
    await withRabbitHosts(rabbit, async (start, prefix) => {
      const c = await start();
      assert.equal((await api(c.baseUrl, 'POST', '/channels', { name: 'flip', worker: '1' })).status, 200);
      await channelStarted(c, 'flip');
      const queue = `${prefix}.flip`;
      await waitFor('one consumer', async () => (await queueState(rabbit, queue)).consumerCount === 1, 30_000, 100);
      // an operator's script resizes in a loop: each change reaches the channel process at once
      for (let round = 0; round < 5; round += 1) {
        const sizes = [2, 3, 4, 5, 6].map((n) => n + round);
        const answers = await Promise.all(sizes.map((n) => api(c.baseUrl, 'PATCH', '/channels/flip', { worker: String(n) })));
        for (const answer of answers) assert.equal(answer.status, 200);
      }
      await waitFor('the resizes applied', () => c.logs().filter((record) => record.event === 'channel-reconfigured').length >= 5);
      // give every consumer restart time to land
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.equal((await queueState(rabbit, queue)).consumerCount, 1, 'one consumer after the burst');
      assert.equal((await api(c.baseUrl, 'PATCH', '/channels/flip', { paused: true })).status, 200);
      await waitFor('no consumer once paused', async () => (await queueState(rabbit, queue)).consumerCount === 0, 30_000, 100);
      const runs = path.join(work, 'flip-runs');
      const pushed = await api(c.baseUrl, 'POST', '/channels/flip/tasks', { command: '/bin/sh', args: ['-c', `echo x >> ${runs}`] });
      assert.equal(pushed.status, 200);
      await waitFor('the task waits in the queue', async () => (await queueState(rabbit, queue)).messageCount === 1, 30_000, 100);
      assert.deepEqual(lines(runs), [], 'nothing ran while paused');
    });
  });

  test('a queue declared as classic by someone else: the channel retries with backoff, then runs once it is gone', async () => {
    await withRabbitHosts(rabbit, async (start, prefix) => {
      const queue = `${prefix}.classic`;
      await withAmqp(rabbit, (channel) => channel.assertQueue(queue, { durable: true }));
      const c = await start();
      assert.equal((await api(c.baseUrl, 'POST', '/channels', { name: 'classic', worker: '1' })).status, 200);
      const refusals = () => c.logs().filter((record) => record.channel === 'classic' && String(record.event).startsWith('rabbitmq-'));
      const first = await waitFor(
        'RabbitMQ refusing the quorum declaration',
        () => refusals().find((record) => record.event === 'rabbitmq-unavailable'),
        30_000,
      );
      assert.match(JSON.stringify(first.err), /PRECONDITION_FAILED.*x-queue-type/);
      const runs = path.join(work, 'classic-runs');
      const pushed = await api(c.baseUrl, 'POST', '/channels/classic/tasks', { command: '/bin/sh', args: ['-c', `echo x >> ${runs}`] });
      assert.equal(pushed.status, 200);
      // each refusal closes a channel of the connection being set up: retried with backoff by one
      // loop (the first attempt and every 10th logged), not by a new loop per refusal
      await new Promise((resolve) => setTimeout(resolve, 8000));
      assert.ok(refusals().length <= 3, `${refusals().length} refusals logged in 8 s`);
      assert.deepEqual(lines(runs), [], 'nothing consumed from the queue declared otherwise');
      // the operator removes the queue declared otherwise: the channel declares its own and runs
      await withAmqp(rabbit, (channel) => channel.deleteQueue(queue));
      await waitFor(
        'the task to succeed',
        async () => (await api(c.baseUrl, 'GET', `/tasks/${pushed.json.data.task_id}`)).json.data?.status === 'succeeded',
        60_000,
        200,
      );
      assert.deepEqual(lines(runs), ['x']);
      assert.equal((await queueState(rabbit, queue)).consumerCount, 1, 'one consumer: one connection came back');
    });
  });

  test('a hostile producer: malformed, huge and headed messages are dead-lettered or dropped, the rest runs', async () => {
    await withRabbitHosts(rabbit, async (start, prefix) => {
      const c = await start();
      await channelStarted(c, 'default');
      const queue = `${prefix}.default`;
      await waitFor('one consumer', async () => (await queueState(rabbit, queue)).consumerCount === 1, 30_000, 100);
      const runs = path.join(work, 'hostile-runs');
      const huge = JSON.stringify({ task: `/bin/sh -c "echo huge >> ${runs}" ${'x'.repeat(20 * 1024 * 1024)}`, chan: 'default', ts: 1 });
      await withAmqp(rabbit, async (channel) => {
        channel.sendToQueue(queue, Buffer.from('not json'), { persistent: true });
        // the relay's header naming a task no one queued: dropped (nothing to run), and said
        channel.sendToQueue(queue, Buffer.from(JSON.stringify({ id: 'nope' })), {
          persistent: true,
          headers: { 'x-coyotes-task': 'nope' },
        });
        channel.sendToQueue(queue, Buffer.from(huge), { persistent: true });
        // a header that is not a task id: a producer's message, and an empty one
        channel.sendToQueue(queue, Buffer.from('{}'), { persistent: true, headers: { 'x-coyotes-task': 42 } });
        const last = JSON.stringify({ task: `/bin/sh -c "echo ok >> ${runs}"`, chan: 'other', ts: 1 });
        channel.sendToQueue(queue, Buffer.from(last), { persistent: true });
      });
      await waitFor('the last message run', () => lines(runs).length > 0, 60_000, 200);
      const letters = await waitFor('three dead letters', async () => {
        const { json } = await api(c.baseUrl, 'GET', '/dead-letters');
        return json.data.count === 3 ? (json.data.items as { reason: string; payload: string }[]) : undefined;
      });
      assert.deepEqual(
        letters.map((letter) => letter.payload.length).sort((x, y) => x - y),
        [2, 8, huge.length],
      );
      assert.match(letters.find((letter) => letter.payload === 'not json')!.reason, /not valid JSON/);
      assert.match(letters.find((letter) => letter.payload.length === huge.length)!.reason, /MAX_ARG_STRLEN/);
      assert.deepEqual(lines(runs), ['ok'], "the queue's channel wins over chan; the huge one never ran");
      assert.equal((await queueState(rabbit, queue)).messageCount, 0);
      const unknown = c.logs().filter((record) => record.event === 'rabbitmq-unknown-task');
      assert.equal(unknown.length, 1);
      assert.match(String(unknown[0]!.msg), /naming task nope, which channel default does not hold/);
    });
  });

  test('a channel deleted with messages in its queue, then created again', async () => {
    await withRabbitHosts(rabbit, async (start, prefix) => {
      const c = await start();
      assert.equal((await api(c.baseUrl, 'POST', '/channels', { name: 'gone', worker: '1' })).status, 200);
      await channelStarted(c, 'gone');
      const dir = mkdtempSync(path.join(work, 'gone-'));
      const gate = path.join(dir, 'gate');
      const ids: string[] = [];
      for (let n = 0; n < 4; n += 1) {
        const pushed = await api(c.baseUrl, 'POST', '/channels/gone/tasks', {
          command: '/bin/sh',
          args: ['-c', `echo ${n} >> ${dir}/runs; while [ ! -e ${gate} ]; do sleep 0.05; done`],
        });
        ids.push(pushed.json.data.task_id as string);
      }
      const queue = `${prefix}.gone`;
      await waitFor(
        'one run, three ready',
        async () => lines(`${dir}/runs`).length === 1 && (await queueState(rabbit, queue)).messageCount === 3,
        30_000,
      );
      assert.equal((await api(c.baseUrl, 'DELETE', '/channels/gone')).status, 200);
      writeFileSync(gate, '');
      await waitFor(
        'the deleted channel drained, its queue kept',
        () => c.logs().some((record) => String(record.msg).includes(`RabbitMQ queue ${queue} of a deleted channel kept: 3 messages`)),
        30_000,
      );
      assert.equal((await queueState(rabbit, queue)).messageCount, 3);
      // a channel of that name takes what waits again
      assert.equal((await api(c.baseUrl, 'POST', '/channels', { name: 'gone', worker: '2' })).status, 200);
      await allSucceeded(c, ids);
      assert.deepEqual(lines(`${dir}/runs`).sort(), ['0', '1', '2', '3'], 'each ran once');
    });
  });

  test('COYOTES_RABBITMQ_HOLD_MS that is not a positive whole number is said, not silently replaced', async () => {
    await withRabbitHosts(rabbit, async (start) => {
      const c = await start({ COYOTES_RABBITMQ_HOLD_MS: '2m' });
      await channelStarted(c, 'default');
      const warning = await waitFor('the warning', () =>
        c.logs().find((record) => record.role === 'channel' && String(record.msg).includes('COYOTES_RABBITMQ_HOLD_MS=2m')),
      );
      assert.equal(warning.level, 40);
      assert.match(String(warning.msg), /the hold deadline is 900000 ms/);
    });
  });

  test('the queue deleted under a running channel (an operator, a policy): it is declared again, what waited in it runs, and later tasks run', async () => {
    await withRabbitHosts(rabbit, async (start, prefix) => {
      const c = await start();
      assert.equal((await api(c.baseUrl, 'POST', '/channels', { name: 'del', worker: '2' })).status, 200);
      await channelStarted(c, 'del');
      const queue = `${prefix}.del`;
      await waitFor('one consumer', async () => (await queueState(rabbit, queue)).consumerCount === 1, 30_000, 100);
      const dir = mkdtempSync(path.join(work, 'del-'));
      const gate = (name: string) => `while [ ! -e ${dir}/${name} ]; do sleep 0.05; done`;
      const push = async (name: string, script = ''): Promise<string> => {
        const pushed = await api(c.baseUrl, 'POST', '/channels/del/tasks', {
          command: '/bin/sh',
          args: ['-c', `echo ${name} >> ${dir}/runs; ${script}`],
        });
        assert.equal(pushed.status, 200);
        return pushed.json.data.task_id as string;
      };
      const succeeded = (ids: string[]) => allSucceeded(c, ids);
      // both slots busy: one until gate-1, one through both deletions (gate-2)
      const first = await push('first', gate('gate-1'));
      const through = await push('through', gate('gate-2'));
      await waitFor('both slots running', () => lines(`${dir}/runs`).length === 2, 30_000);
      const waiting = [await push('waiting-1'), await push('waiting-2'), await push('waiting-3')];
      await waitFor('three messages wait in the queue', async () => (await queueState(rabbit, queue)).messageCount === 3, 30_000, 100);
      // deleted while consumed from, with messages in it: RabbitMQ cancels the consumer
      await withAmqp(rabbit, (channel) => channel.deleteQueue(queue));
      const lost = await waitFor('the lost tasks published again', () => c.logs().find((record) => record.event === 'rabbitmq-queue-lost'));
      assert.match(String(lost.msg), /deleted with 3 tasks in it/);
      // declared again and consumed from; the three published again (two taken into the consumer's hands)
      await waitFor(
        'a consumer of the queue declared again',
        async () => (await queueState(rabbit, queue)).consumerCount === 1,
        30_000,
        100,
      );
      writeFileSync(path.join(dir, 'gate-1'), '');
      await succeeded([first, ...waiting]);
      await succeeded([await push('after-delete')]);
      // deleted while paused (no consumer to be told): the relay's publish finds no queue
      assert.equal((await api(c.baseUrl, 'PATCH', '/channels/del', { paused: true })).status, 200);
      await waitFor('no consumer once paused', async () => (await queueState(rabbit, queue)).consumerCount === 0, 30_000, 100);
      await withAmqp(rabbit, (channel) => channel.deleteQueue(queue));
      const whilePaused = await push('while-paused');
      await waitFor(
        'the queue declared again, the task in it',
        async () => (await queueState(rabbit, queue)).messageCount === 1,
        30_000,
        200,
      );
      assert.equal((await api(c.baseUrl, 'PATCH', '/channels/del', { paused: false })).status, 200);
      await succeeded([whilePaused]);
      // the delivery of the task running through both deletions is settled without harm
      writeFileSync(path.join(dir, 'gate-2'), '');
      await succeeded([through]);
      await succeeded([await push('last')]);
      const runs = lines(`${dir}/runs`);
      assert.deepEqual(runs.slice(0, 2).sort(), ['first', 'through']);
      // one slot freed: what waited in the deleted queue ran in its order, each once
      assert.deepEqual(runs.slice(2), ['waiting-1', 'waiting-2', 'waiting-3', 'after-delete', 'while-paused', 'last'], 'each ran once');
      assert.equal((await queueState(rabbit, queue)).consumerCount, 1);
    });
  });
});

describe('RabbitMQ transport, attacked: global_workers across hosts', () => {
  /** Two masters with channel `cap`; tasks that say they started, then hold their slot until `gate` exists. */
  async function capped(
    globalWorkers: number,
    body: (hosts: RunningCoyotes[], push: () => Promise<string>, started: () => number, gate: string, queue: string) => Promise<void>,
  ): Promise<void> {
    await withRabbitHosts(rabbit, async (start, prefix) => {
      const hosts = [await start(), await start()];
      const created = await api(hosts[0]!.baseUrl, 'POST', '/channels', {
        name: 'cap',
        worker: '2',
        global_workers: String(globalWorkers),
      });
      assert.equal(created.status, 200);
      for (const host of hosts) await channelStarted(host, 'cap');
      const dir = mkdtempSync(path.join(work, 'cap-'));
      const gate = path.join(dir, 'gate');
      let n = 0;
      const push = async (): Promise<string> => {
        const host = hosts[n++ % hosts.length]!;
        const script = `echo $$ >> ${dir}/started; while [ ! -e ${gate} ]; do sleep 0.05; done`;
        const pushed = await api(host.baseUrl, 'POST', '/channels/cap/tasks', { command: '/bin/sh', args: ['-c', script] });
        assert.equal(pushed.status, 200);
        return pushed.json.data.task_id as string;
      };
      await body(hosts, push, () => lines(`${dir}/started`).length, gate, `${prefix}.cap`);
    });
  }

  const settle = () => new Promise((resolve) => setTimeout(resolve, 2500));

  test('the cap changed live: up, to 0 (no cap), down', async () => {
    await capped(1, async (hosts, push, started, gate) => {
      const ids: string[] = [];
      for (let n = 0; n < 6; n += 1) ids.push(await push());
      await waitFor('one run', () => started() === 1, 30_000);
      await settle();
      assert.equal(started(), 1, 'the cap of 1 holds');
      assert.equal((await api(hosts[1]!.baseUrl, 'PATCH', '/channels/cap', { global_workers: '3' })).status, 200);
      await waitFor('three runs once the cap is 3', () => started() === 3, 30_000);
      await settle();
      assert.equal(started(), 3, 'the cap of 3 holds');
      assert.equal((await api(hosts[0]!.baseUrl, 'PATCH', '/channels/cap', { global_workers: '0' })).status, 200);
      await waitFor('four runs (2 workers on 2 hosts) once the cap is lifted', () => started() === 4, 30_000);
      await settle();
      assert.equal(started(), 4, 'the workers bound it');
      assert.equal((await api(hosts[0]!.baseUrl, 'PATCH', '/channels/cap', { global_workers: '1' })).status, 200);
      writeFileSync(gate, '');
      await allSucceeded(hosts[0]!, ids);
      assert.equal(started(), 6, 'each ran once');
    });
  });

  test('a running task killed at the cap: its slot is taken by a waiting task', async () => {
    await capped(2, async (hosts, push, started) => {
      const ids: string[] = [];
      for (let n = 0; n < 4; n += 1) ids.push(await push());
      await waitFor('two runs', () => started() === 2, 30_000);
      await settle();
      assert.equal(started(), 2);
      const statuses = await Promise.all(ids.map(async (id) => (await api(hosts[0]!.baseUrl, 'GET', `/tasks/${id}`)).json.data?.status));
      const victim = ids[statuses.indexOf('running')]!;
      assert.equal((await api(hosts[1]!.baseUrl, 'POST', `/tasks/${victim}/kill`)).status, 200);
      await waitFor('a third run in the freed slot', () => started() === 3, 30_000);
      await settle();
      assert.equal(started(), 3, 'still two at once');
    });
  });

  test('paused at the cap, then resumed', async () => {
    await capped(1, async (hosts, push, started, gate) => {
      const ids: string[] = [];
      for (let n = 0; n < 3; n += 1) ids.push(await push());
      await waitFor('one run', () => started() === 1, 30_000);
      assert.equal((await api(hosts[0]!.baseUrl, 'PATCH', '/channels/cap', { paused: true })).status, 200);
      writeFileSync(gate, '');
      await waitFor(
        'the first to succeed',
        async () => {
          const statuses = await Promise.all(
            ids.map(async (id) => (await api(hosts[0]!.baseUrl, 'GET', `/tasks/${id}`)).json.data?.status),
          );
          return statuses.filter((status) => status === 'succeeded').length === 1;
        },
        30_000,
        200,
      );
      await settle();
      assert.equal(started(), 1, 'nothing started while paused');
      assert.equal((await api(hosts[1]!.baseUrl, 'PATCH', '/channels/cap', { paused: false })).status, 200);
      await allSucceeded(hosts[0]!, ids);
      assert.equal(started(), 3);
    });
  });

  test('rabbitmq-server restarted while tasks run at the cap and others wait for it: none runs twice, the cap holds', async () => {
    await capped(2, async (hosts, push, started, gate, queue) => {
      const ids: string[] = [];
      for (let n = 0; n < 5; n += 1) ids.push(await push());
      await waitFor('two runs', () => started() === 2, 30_000);
      await rabbit.down();
      await rabbit.up();
      await waitFor('both hosts consuming again', async () => (await queueState(rabbit, queue)).consumerCount === 2, 60_000, 200);
      // a redelivery taken over, or a waiting delivery let past the cap, would start within this
      await new Promise((resolve) => setTimeout(resolve, 8000));
      assert.equal(started(), 2, 'no second run, nothing past the cap');
      writeFileSync(gate, '');
      await allSucceeded(hosts[1]!, ids);
      assert.equal(started(), 5, 'each ran once');
    });
  });

  test('a master SIGKILLed while holding the cap: its channel process finishes the task, which runs once', async () => {
    await capped(1, async (hosts, push, started, gate) => {
      const ids: string[] = [];
      for (let n = 0; n < 3; n += 1) ids.push(await push());
      await waitFor('one run', () => started() === 1, 30_000);
      // the host running it: its master is an ancestor of the command
      const ancestors: number[] = [];
      for (let pid = Number(lines(path.join(path.dirname(gate), 'started'))[0]); pid > 1;) {
        pid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
        ancestors.push(pid);
      }
      const victim = hosts.find((host) => ancestors.includes(host.pid))!;
      const survivor = hosts.find((host) => host !== victim)!;
      victim.process.kill('SIGKILL');
      await waitFor(
        'the master gone',
        () => !existsSync(`/proc/${victim.pid}`) || victim.process.exitCode !== null || victim.process.signalCode !== null,
      );
      // past the time a lapsed beat would take the task over: the orphaned channel process still beats and runs it
      await new Promise((resolve) => setTimeout(resolve, 8000));
      assert.equal(started(), 1, 'not run again, nothing else started at the cap');
      writeFileSync(gate, '');
      await allSucceeded(survivor, ids);
      assert.equal(started(), 3, 'each ran once');
    });
  });
});
