import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { CoyotesClient } from '@coyotes/cli';
import { BIN, startCoyotes } from './helpers/coyotes.js';
import { freePort } from './helpers/ports.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const TOKEN = 'cli-test-token';

describe('client verbs against a running server', () => {
  let redis: TestRedis;
  let server: RunningCoyotes;
  let client: CoyotesClient;
  /** Runs a verb of the real binary; answers its exit code and output. */
  let verb: (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

  before(async () => {
    redis = await startRedis();
    server = await startCoyotes({ redisAddr: redis.addr, args: ['-http-token', TOKEN, '-concurrent', '2'] });
    client = new CoyotesClient({ addr: server.httpAddr, token: TOKEN });
    verb = async (...args) => {
      const env = { ...process.env, COYOTES_ADDR: server.httpAddr, COYOTES_TOKEN: TOKEN };
      try {
        const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env, timeout: 30_000 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
      }
    };
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await redis?.stop();
  });

  test('push prints the task id; the command runs as given, no shell', async () => {
    const { code, stdout } = await verb('push', '-c', 'biz', '--', 'echo', 'a  b', '$HOME');
    assert.equal(code, 0);
    const id = stdout.trim();
    assert.match(id, /^[A-Za-z0-9]{21}$/);
    const task = await client.waitForTask(id);
    assert.equal(task.channel, 'biz');
    assert.equal(task.result?.stdout_tail, 'a  b $HOME\n');
  });

  test("push --wait prints the output and exits with the command's code", async () => {
    const ok = await verb('push', '--wait', '--', 'sh', '-c', 'echo to-out; echo to-err >&2');
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout, 'to-out\n');
    assert.match(ok.stderr, /to-err\n/);
    assert.equal((await verb('push', '--wait', '--', 'sh', '-c', 'exit 3')).code, 3);
    assert.equal((await verb('push', '--wait', '--', 'sh', '-c', 'kill -TERM $$')).code, 143);
    assert.equal((await verb('push', '--wait', '--timeout', '1', '--', 'sleep', '30')).code, 124);
    const missing = await verb('push', '--wait', '--', 'no-such-command-here');
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /ENOENT/);
  });

  test('push --wait --json prints the finished task; --delay holds it back', async () => {
    const { code, stdout } = await verb('push', '--wait', '--json', '--delay', '1', '--', 'true');
    assert.equal(code, 0);
    const task = JSON.parse(stdout) as { status: string; result: { exit_code: number } };
    assert.equal(task.status, 'succeeded');
    assert.equal(task.result.exit_code, 0);
  });

  test('push: bad usage exits 2, a refused request exits 1', async () => {
    const none = await verb('push');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^coyotes: push: no command given \(usage: coyotes push/);
    const badDelay = await verb('push', '--delay', 'soon', '--', 'true');
    assert.equal(badDelay.code, 2);
    assert.match(badDelay.stderr, /--delay must be a non-negative integer, got "soon"/);
    const unknown = await verb('push', '--colour', '--', 'true');
    assert.equal(unknown.code, 2);
    const noChannel = await verb('push', '-c', 'nowhere', '--', 'true');
    assert.equal(noChannel.code, 1);
    assert.equal(noChannel.stderr, 'coyotes: channel nowhere not found\n');
  });

  test('the token is required and --token/--addr flags work; an unreachable server exits 1', async () => {
    const env = { ...process.env, COYOTES_ADDR: '', COYOTES_TOKEN: '', COYOTES_HTTP_TOKEN: '' };
    const refused = await run(process.execPath, [BIN, 'status', '--addr', server.httpAddr], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((refused as { code: number }).code, 1);
    assert.match((refused as { stderr: string }).stderr, /bearer token/);
    const { stdout } = await run(process.execPath, [BIN, '--addr', server.httpAddr, '--token', TOKEN, 'status'], { env });
    assert.match(stdout, /^CHANNEL\s+WORKERS\s+QUEUED\s+RUNNING\s+DELAYED\s+FAILED\s+DONE\s+STATE/);
    const closed = await freePort();
    const unreachable = await verb('status', '--addr', `127.0.0.1:${closed}`);
    assert.equal(unreachable.code, 1);
    assert.equal(
      unreachable.stderr,
      `coyotes: cannot reach http://127.0.0.1:${closed}: ECONNREFUSED (is coyotes running? set --addr or COYOTES_ADDR)\n`,
    );
    // the library says the same with its code; an answered error has the other code and the status
    const nowhere = new CoyotesClient({ addr: `127.0.0.1:${closed}` });
    await assert.rejects(nowhere.task('x'), { code: 'COY_ERR_CLIENT_UNREACHABLE', status: 0 });
    await assert.rejects(client.task('no-such-task'), { code: 'COY_ERR_CLIENT_REQUEST_FAILED', status: 404 });
  });

  test('status: a table of channels with workers and counts; one channel; --json', async () => {
    const { code, stdout } = await verb('status');
    assert.equal(code, 0);
    const rows = stdout.trim().split('\n');
    assert.match(rows[0]!, /^CHANNEL/);
    assert.ok(
      rows.some((row) => /^biz\s+2\s+0\s+0\s+0\s+0\s+1\s+running\b/.test(row)),
      stdout,
    );
    const single = await verb('status', 'cron', '--json');
    const [cron] = JSON.parse(single.stdout) as { name: string; workers: number; process: { alive: boolean } }[];
    assert.equal(cron!.name, 'cron');
    assert.equal(cron!.workers, 2);
    assert.equal(cron!.process.alive, true);
    assert.equal((await verb('status', 'nope')).code, 1);
  });

  test('logs ID prints the output; logs -f follows a running task to its end', async () => {
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'coyotes-cli-logs-')), 'go');
    const { taskId } = await client.push({
      channel: 'default',
      command: 'sh',
      args: ['-c', `until [ -e ${gate} ]; do sleep 0.05; done; echo later`],
    });
    await waitFor('it to run', async () => (await client.task(taskId)).status === 'running', 10_000);
    const waiting = await verb('logs', taskId);
    assert.equal(waiting.code, 0);
    assert.equal(waiting.stderr, `task ${taskId} is running: no output yet (use -f to follow it)\n`);
    const following = verb('logs', '-f', taskId);
    writeFileSync(gate, '');
    const followed = await following;
    assert.equal(followed.code, 0);
    assert.equal(followed.stdout, 'later\n');
    assert.equal((await verb('logs', taskId)).stdout, 'later\n');
    assert.equal((await verb('logs', 'no-such-task')).code, 1);
  });

  test('kill ID kills a running command', async () => {
    const { taskId } = await client.push({ channel: 'default', command: 'sleep', args: ['60'] });
    await waitFor('it to run', async () => (await client.task(taskId)).status === 'running', 10_000);
    const killed = await verb('kill', taskId);
    assert.equal(killed.code, 0);
    assert.equal(killed.stdout, `killing ${taskId}\n`);
    const task = await client.waitForTask(taskId);
    assert.equal(task.status, 'failed');
    assert.equal(task.result?.outcome, 'killed');
  });

  test('cancel ID cancels a delayed task', async () => {
    const pushed = await verb('push', '--delay', '60', '--', 'true');
    const id = pushed.stdout.trim();
    const { code, stdout, stderr } = await verb('cancel', id);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, `cancelled ${id}\n`);
    // a cancelled task keeps its record
    const task = await client.task(id);
    assert.equal(task.status, 'cancelled');
    assert.match(task.cancelled_at ?? '', /^\d{4}-/);
  });

  test('retry ID and retry --all-failed -c channel requeue failed tasks', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await client.push({ channel: 'cron', command: 'false', args: [] })).taskId);
    for (const id of ids) assert.equal((await client.waitForTask(id)).status, 'failed');
    const one = await verb('retry', ids[0]!);
    assert.equal(one.code, 0);
    assert.equal(one.stdout, `retried ${ids[0]}\n`);
    await waitFor(
      'the retried task to fail again',
      async () => (await client.task(ids[0]!)).retry_count > 0 || (await client.task(ids[0]!)).status === 'failed',
      10_000,
    );
    const all = await verb('retry', '--all-failed', '-c', 'cron', '--json');
    assert.equal(all.code, 0);
    const retried = (JSON.parse(all.stdout) as { retried: string[] }).retried;
    for (const id of ids.slice(1)) assert.ok(retried.includes(id), `${id} retried`);
    assert.equal((await verb('retry', '--all-failed')).code, 2);
  });

  test('channels create, resize, pause, resume, ls, rm', async () => {
    assert.equal((await verb('channels', 'create', 'reports', '-w', '3', '--distinct')).stdout, 'created reports\n');
    assert.equal((await verb('channels', 'resize', 'reports', '5')).stdout, 'reports: 5 workers\n');
    assert.equal((await verb('channels', 'pause', 'reports')).stdout, 'reports: paused\n');
    let ls = await verb('channels', 'ls');
    assert.match(ls.stdout, /^reports\s+5\s+-\s+0\s+-\s+yes\s+no\s+paused\s+any$/m, ls.stderr);
    assert.equal((await verb('channels', 'resume', 'reports')).stdout, 'reports: resumed\n');
    assert.equal((await verb('channels', 'rm', 'reports')).code, 0);
    ls = await verb('channels', 'ls', '--json');
    assert.ok(!(JSON.parse(ls.stdout) as { name: string }[]).some((c) => c.name === 'reports'));
    assert.equal((await verb('channels', 'resize', 'biz', 'lots')).code, 2);
    assert.equal((await verb('channels', 'explode', 'biz')).code, 2);
  });

  test('nodes lists this master', async () => {
    const { code, stdout } = await verb('nodes');
    assert.equal(code, 0);
    assert.match(stdout, /^NODE\s+HOST\s+PID\s+VERSION\s+HTTP\s+MODE\s+UP$/m);
    assert.match(stdout, new RegExp(`\\s${server.pid}\\s+\\d+\\.\\d+\\.\\d+\\s+${server.httpAddr.replace(/\./g, '\\.')}\\s+tasks\\s`));
  });
});
