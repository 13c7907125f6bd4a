import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { api, BIN, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

/** Far more than a Linux pipe holds (64 KiB) plus what Node reads ahead of a paused reader. */
const TASKS = 300;

describe('a client verb writing to a pipe', () => {
  let redis: TestRedis;
  let server: RunningCoyotes;

  before(async () => {
    redis = await startRedis();
    server = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
    await api(server.baseUrl, 'POST', '/channels', { name: 'big', worker: '1' });
    // delayed an hour: listed, never run; each one a kilobyte of JSON at least
    for (let i = 0; i < TASKS; i += 1) {
      const { json } = await api(server.baseUrl, 'POST', '/channels/big/tasks', {
        command: 'echo',
        args: [String(i), 'x'.repeat(1000)],
        delay: '3600',
      });
      assert.equal(json.status_code, 200, json.message);
    }
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await redis?.stop();
  });

  test('hands a slow reader all of its output before it exits (tasks --json, hundreds of KiB)', async () => {
    const child = spawn(process.execPath, [BIN, 'tasks', '-c', 'big', '--limit', '1000', '--json'], {
      env: { ...process.env, COYOTES_ADDR: server.httpAddr },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    // a slow reader: nothing is read until the verb has printed (the first bytes are in the pipe),
    // and then not before it had the time to exit, which is when output used to be cut at 64 KiB
    await waitFor('the verb to print', () => child.stdout.readableLength > 0, 30_000);
    await Promise.race([exited, sleep(1000)]);
    const chunks: Buffer[] = [];
    for await (const chunk of child.stdout) chunks.push(chunk as Buffer);
    const [code] = await exited;
    assert.equal(code, 0, stderr);
    const output = Buffer.concat(chunks).toString('utf8');
    assert.ok(output.length > 4 * 65536, `only ${output.length} bytes`);
    const page = JSON.parse(output) as { count: number; items: { args: string[] }[] };
    assert.equal(page.count, TASKS);
    assert.equal(page.items.length, TASKS);
  });
});
