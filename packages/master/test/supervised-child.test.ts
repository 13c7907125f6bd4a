import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { SupervisedChild } from '../src/supervised-child.js';
import type { SupervisedChildOptions } from '../src/supervised-child.js';
import { loggedRecords } from '../../../test/helpers/logs.js';
import { isAlive } from '../../../test/helpers/processes.js';
import { waitFor } from '../../../test/helpers/wait.js';

type Message = { type: 'start' } | { type: 'echo' } | { type: 'exit'; code: number };
interface Heard {
  type: 'heard';
  pid: number;
  heard: string[];
}

const FIXTURE = new URL('./fixtures/child.mjs', import.meta.url);

/** Supervision of one forked child, in this process: real forks of a small fixture, no master. */
describe('SupervisedChild', () => {
  const children: SupervisedChild<Message>[] = [];
  const execArgv = [...process.execArgv];
  before(() => {
    // the fixture is plain JavaScript: forked without the test runner's TypeScript loader
    // (forks inherit process.execArgv), a child starts in a fraction of the time
    process.execArgv.splice(0);
  });
  after(() => {
    for (const child of children) child.killNow();
    process.execArgv.push(...execArgv);
  });

  /** A supervised fixture child; what it answers, its crashes and the log records are kept. */
  const supervise = (label: string, extra: Partial<SupervisedChildOptions<Message>> = {}) => {
    const logged = loggedRecords();
    const answers: Heard[] = [];
    const crashes: [number | null, NodeJS.Signals | null][] = [];
    const child = new SupervisedChild<Message>({
      label,
      entry: FIXTURE,
      log: pino({ level: 'debug' }, logged.stream),
      startMessage: () => ({ type: 'start' }),
      onMessage: (message) => answers.push(message as Heard),
      onCrash: (code, signal) => crashes.push([code, signal]),
      ...extra,
    });
    children.push(child);
    child.start();
    return { child, answers, crashes, records: logged.records };
  };
  const deaths = (records: Record<string, unknown>[], label: string) =>
    records.filter((record) => record.child === label && record.event === 'child-restarting');

  test('the start message goes first, then what is sent, in order', async () => {
    const { child, answers } = supervise('in order');
    child.send({ type: 'echo' });
    const last = await waitFor('both heard', () => answers.find((answer) => answer.heard.length === 2));
    assert.deepEqual(last.heard, ['start', 'echo']);
    assert.equal(last.pid, child.pid);
    assert.equal(child.alive, true);
  });

  test('a child that dies is restarted with a doubling backoff, which starts over once it lived 30 s', async () => {
    let aheadMs = 0;
    const { child, answers, crashes, records } = supervise('crashes', { now: () => Date.now() + aheadMs });
    const crashAndRestart = async (n: number) => {
      const pid = await waitFor(`incarnation ${n} up`, () => answers.find((answer) => answer.pid === child.pid)?.pid);
      child.send({ type: 'exit', code: 3 });
      await waitFor(`death ${n} logged`, () => deaths(records, 'crashes').length === n);
      await waitFor(`restart ${n}`, () => child.restarts === n && child.alive && child.pid !== pid);
      assert.ok(!isAlive(pid));
    };
    await crashAndRestart(1);
    await crashAndRestart(2);
    aheadMs = 31_000; // the third incarnation "lived" past HEALTHY_AFTER_MS
    await crashAndRestart(3);
    assert.deepEqual(
      deaths(records, 'crashes').map((record) => [record.code, record.signal, record.delayMs]),
      [
        [3, null, 100],
        [3, null, 200],
        [3, null, 100],
      ],
    );
    assert.deepEqual(crashes, [
      [3, null],
      [3, null],
      [3, null],
    ]);
    // each incarnation got the start message first
    await waitFor('the fourth incarnation started', () =>
      answers.some((answer) => answer.pid === child.pid && answer.heard[0] === 'start'),
    );
  });

  test('stop sends its message and resolves once the child exited; a stopped or killed child is not restarted', async () => {
    const stopped = supervise('stopped');
    await waitFor('up', () => stopped.answers.length > 0);
    const pid = stopped.child.pid!;
    await stopped.child.stop({ type: 'exit', code: 0 });
    assert.equal(stopped.child.alive, false);
    assert.ok(!isAlive(pid));

    const killed = supervise('killed');
    await waitFor('up', () => killed.answers.length > 0);
    killed.child.killNow();
    // `alive` turns false in the same tick as the exit handler runs, which logs a death and
    // arms the restart in one go: once it is false, no death logged means no restart armed
    await waitFor('killed', () => !killed.child.alive);
    for (const one of [stopped, killed]) {
      assert.equal(one.child.restarts, 0);
      assert.deepEqual(one.crashes, []);
      assert.deepEqual(deaths(one.records, one === stopped ? 'stopped' : 'killed'), []);
    }
  });

  test('a cluster worker gets no message before it said hello, then every held one in order', async () => {
    const { child, answers } = supervise('listener', { sharesListeners: true, env: { SAY_HELLO_AFTER_MS: '200' } });
    child.send({ type: 'echo' });
    const last = await waitFor('both heard', () => answers.find((answer) => answer.heard.length === 2));
    assert.deepEqual(last.heard, ['start', 'echo']);
  });
});
