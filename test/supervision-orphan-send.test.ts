import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { isAlive, killAll } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const SENDER = path.join(import.meta.dirname, 'fixtures/orphan-sender.mjs');

describe('a child process whose master is SIGKILLed while it sends', () => {
  const spawned: number[] = [];
  after(() => killAll(spawned));

  test('loses nothing to the dead IPC channel: no unhandled EPIPE, its orphan path runs and it exits 0', async () => {
    const parent = spawn(process.execPath, [SENDER, 'parent'], { stdio: ['ignore', 'pipe', 'pipe'] });
    spawned.push(parent.pid!);
    let stdout = '';
    let stderr = '';
    parent.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    parent.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    // the child holds the pipes too: they end when the child has exited
    const ended = Promise.all([once(parent.stdout, 'end'), once(parent.stderr, 'end')]);

    const child = Number(
      await waitFor('the child to be ready', () => /^ready /m.test(stdout) && /^child (\d+)$/m.exec(stdout)?.[1], 30_000),
    );
    spawned.push(child);
    parent.kill('SIGKILL');
    await waitFor('the child to exit', () => !isAlive(child), 30_000);
    await ended;

    assert.equal(stderr, '');
    assert.match(stdout, /^orphaned$/m);
    assert.match(stdout, /^exit 0$/m);
    // the race happened: the send saw master's channel closed before 'disconnect' was heard
    assert.match(stdout, /^parent gone, connected true$/m);
    assert.match(stdout, /^sent 0: (EPIPE|ECONNRESET|ERR_IPC_CHANNEL_CLOSED)$/m);
  });
});

/**
 * The whole path: the real channel process, its master SIGKILLed mid-burst. Whether a send races
 * the closing channel here is up to timing (the test above makes that race every time); what this
 * one holds to is the orphan path's promise: what ran is recorded, nothing runs twice.
 */
describe('master SIGKILLed while a channel streams task events', () => {
  const TASKS = 300;
  const work = mkdtempSync(path.join(tmpdir(), 'coyotes-orphan-'));
  const ran = path.join(work, 'ran');
  let redis: TestRedis;
  let first: RunningCoyotes | undefined;
  let second: RunningCoyotes | undefined;

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await first?.stop('SIGKILL');
    await second?.stop('SIGKILL');
    await redis?.stop();
  });

  /** How many lines each task appended to `ran`: one per run. */
  const runs = (): Map<string, number> => {
    const counts = new Map<string, number>();
    if (!existsSync(ran)) return counts;
    for (const line of readFileSync(ran, 'utf8').split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
    return counts;
  };
  const succeeded = async (base: string): Promise<number> => {
    const { json } = await api(base, 'GET', '/tasks?channel=burst&state=succeeded&limit=1');
    return json.data.count as number;
  };

  test('the channel process drains as an orphan and records every task it ran: each runs exactly once', async () => {
    first = await startCoyotes({ redisAddr: redis.addr });
    await api(first.baseUrl, 'POST', '/channels', { name: 'burst', worker: '8', paused: 'true' });
    for (let i = 0; i < TASKS; i += 1) {
      const { json } = await api(first.baseUrl, 'POST', '/channels/burst/tasks', {
        command: 'sh',
        args: ['-c', `echo "$0" >> '${ran}'`, `task-${i}`],
      });
      assert.equal(json.status_code, 200, json.message);
    }
    await api(first.baseUrl, 'PATCH', '/channels/burst', { paused: 'false' });
    // mid-stream: tasks finish (and their events go to master) many times a second
    await waitFor('the burst to be under way', () => runs().size >= 40, 60_000);
    const { code, signal } = await first.stop('SIGKILL');
    assert.deepEqual({ code, signal }, { code: null, signal: 'SIGKILL' });
    // stop() resolves once master and every child that held its output have exited
    const output = first.output();
    assert.doesNotMatch(output, /Unhandled 'error'|EPIPE|ERR_IPC_CHANNEL_CLOSED/);
    assert.ok(
      first.logs().some((line) => line.role === 'channel' && String(line.msg).startsWith('master is gone')),
      output.slice(-4000),
    );
    const recorded = await succeeded(`http://${first.httpAddr}`).catch(() => undefined);
    assert.equal(recorded, undefined, 'the api process went with master');

    second = await startCoyotes({ redisAddr: redis.addr });
    const done = await waitFor('every task to succeed', async () => (await succeeded(second!.baseUrl)) === TASKS, 120_000);
    assert.equal(done, true);
    const counts = runs();
    assert.equal(counts.size, TASKS);
    assert.deepEqual(
      [...counts].filter(([, n]) => n !== 1),
      [],
    );
  });
});
