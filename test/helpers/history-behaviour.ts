import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { HistoryStore } from '../../packages/history/src/index.js';
import type { HistoryRecord } from '../../packages/protocol/src/index.js';
import { BIN, api, startCoyotes } from './coyotes.js';
import type { RunningCoyotes } from './coyotes.js';
import { keys } from './keys.js';
import { startRedis } from './redis.js';
import type { TestRedis } from './redis.js';
import type { TestSqlServer } from './sql-server.js';
import { waitFor } from './wait.js';

const exec = promisify(execFile);

/** Lines a failed start printed that are not JSON log lines: what an operator reads. */
export const plainLines = (output: string) => output.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));

/** A run as the tests write it straight to SQL: `over` sets what the test is about. */
export const run = (over: Partial<HistoryRecord>): HistoryRecord => ({
  taskId: 'x',
  attempt: 1,
  channel: 'known',
  command: 'backup --full',
  status: 'succeeded',
  exitCode: 0,
  signal: null,
  node: 'node-a',
  host: 'host-a',
  queuedAt: 1_000,
  startedAt: 1_000,
  finishedAt: 2_000,
  durationMs: 100,
  stdoutTail: '',
  stderrTail: '',
  error: null,
  schedule: null,
  ...over,
});

/**
 * The behaviour every SQL database must show, run once per database by a test file of its own
 * (history-postgres.test.ts, history-mariadb.test.ts): each file stays within the runner's
 * per-file time limit, and both run in parallel. The 30 s outage has files of its own
 * (history-outage.ts).
 */
export function historyBehaviour(name: string, startServer: () => Promise<TestSqlServer>): void {
  describe(`task history in ${name}`, () => {
    let sql: TestSqlServer;
    let redis: TestRedis;
    let coyotes: RunningCoyotes;
    let store: HistoryStore;

    before(async () => {
      sql = await startServer();
      redis = await startRedis();
      // the schema first, so that these runs exist before the writer's first pruning (10 s after
      // its start): one past the 90-day retention, one inside it
      store = await HistoryStore.open(sql.url, { migrate: true });
      const day = 86_400_000;
      await store.insert([
        run({ taskId: 'old', channel: 'retention', finishedAt: Date.now() - 91 * day }),
        run({ taskId: 'kept', channel: 'retention', finishedAt: Date.now() - 89 * day }),
      ]);
      coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-history-url', sql.url] });
    });
    after(async () => {
      await store?.close();
      await coyotes?.stop('SIGKILL');
      await redis?.stop();
      await sql?.stop();
    });

    test('migrations are applied once, recorded in the migrations table', async () => {
      assert.deepEqual(await store.migrations(), [1]);
      // a second start (another host) finds nothing to apply
      const again = await HistoryStore.open(sql.url, { migrate: true });
      assert.deepEqual(await again.migrate(), []);
      await again.close();
    });

    test('runs land with the right fields: success, failure with its retry, time-out, kill', async () => {
      await api(coyotes.baseUrl, 'POST', '/channels', { name: 'fields', worker: '4' });
      const ok = await api(coyotes.baseUrl, 'POST', '/channels/fields/tasks', { command: '/bin/echo', args: ['hello'] });
      const failing = await api(coyotes.baseUrl, 'POST', '/channels/fields/tasks', {
        command: '/bin/sh',
        args: ['-c', 'echo oops >&2; exit 3'],
        max_retries: '1',
      });
      const slow = await api(coyotes.baseUrl, 'POST', '/channels/fields/tasks', { command: '/bin/sleep', args: ['30'], timeout: '1' });
      const killed = await api(coyotes.baseUrl, 'POST', '/channels/fields/tasks', { command: '/bin/sleep', args: ['31'] });
      const killedId = killed.json.data.task_id as string;
      await waitFor(
        'the task to kill to run',
        async () => (await api(coyotes.baseUrl, 'GET', `/tasks/${killedId}`)).json.data.status === 'running',
        30_000,
      );
      assert.equal((await api(coyotes.baseUrl, 'POST', `/tasks/${killedId}/kill`)).status, 200);

      const runs = await waitFor(
        'five runs in SQL',
        async () => {
          const page = await api(coyotes.baseUrl, 'GET', '/history?channel=fields');
          return page.json.data.items.length === 5 ? (page.json.data.items as Record<string, unknown>[]) : false;
        },
        60_000,
      );
      const of = (id: string) => runs.filter((r) => r.task_id === id).sort((a, b) => Number(a.attempt) - Number(b.attempt));
      const [success] = of(ok.json.data.task_id);
      assert.equal(success!.status, 'succeeded');
      assert.equal(success!.exit_code, 0);
      assert.equal(success!.command, '/bin/echo hello');
      assert.equal(success!.stdout_tail, 'hello\n');
      assert.equal(success!.attempt, 1);
      assert.equal(success!.schedule, null);
      assert.match(String(success!.node), /.+/);
      assert.ok(Date.parse(String(success!.finished_at)) >= Date.parse(String(success!.started_at)));
      assert.ok(Date.parse(String(success!.started_at)) >= Date.parse(String(success!.queued_at)));
      const failures = of(failing.json.data.task_id);
      assert.deepEqual(
        failures.map((r) => [r.attempt, r.status, r.exit_code, r.stderr_tail]),
        [
          [1, 'failed', 3, 'oops\n'],
          [2, 'failed', 3, 'oops\n'],
        ],
      );
      const [timedOut] = of(slow.json.data.task_id);
      assert.equal(timedOut!.status, 'timed out');
      assert.equal(timedOut!.command, '/bin/sleep 30');
      const [kill] = of(killedId);
      assert.equal(kill!.status, 'killed');
      assert.equal(kill!.signal, 'SIGTERM');
    });

    test('a cancelled task is one run, status cancelled, however often it is cancelled; stats leave it out', async () => {
      await api(coyotes.baseUrl, 'POST', '/channels', { name: 'cancels', worker: '1' });
      const later = await api(coyotes.baseUrl, 'POST', '/channels/cancels/tasks', { command: '/bin/echo', args: ['later'], delay: '3600' });
      const id = later.json.data.task_id as string;
      for (let i = 0; i < 2; i++) {
        const cancelled = await api(coyotes.baseUrl, 'DELETE', `/channels/cancels/tasks/${id}`);
        assert.equal(cancelled.json.data.status, 'cancelled');
      }
      const [row] = await waitFor(
        'the cancelled run in SQL',
        async () => {
          const { items } = await store.list({ channel: 'cancels' }, 10);
          return items.length > 0 ? items : false;
        },
        60_000,
      );
      assert.equal(row!.taskId, id);
      assert.equal(row!.attempt, 1);
      assert.equal(row!.status, 'cancelled');
      assert.equal(row!.command, '/bin/echo later');
      assert.equal(row!.exitCode, null);
      assert.equal(row!.durationMs, 0);
      assert.equal(row!.startedAt, row!.finishedAt);
      assert.equal(row!.node, '');
      // the second cancel wrote nothing: the outbox is empty and SQL holds the one row
      await waitFor('the outbox drained', async () => (await redis.client.llen(keys.channel('cancels').historyOutbox)) === 0, 30_000);
      assert.equal((await store.list({ channel: 'cancels' }, 10)).items.length, 1);
      const listed = await api(coyotes.baseUrl, 'GET', '/history?channel=cancels&status=cancelled');
      assert.deepEqual(
        listed.json.data.items.map((r: { task_id: string }) => r.task_id),
        [id],
      );
      // it never ran: no runs, no 0 ms duration in the channel's percentiles
      assert.deepEqual((await api(coyotes.baseUrl, 'GET', '/history/stats?channel=cancels')).json.data.channels, []);
    });

    test('filters, cursor paging and stats answer what known runs say', async () => {
      // an hour ago, on a whole second: well inside the retention the writer prunes with
      const T = Math.floor(Date.now() / 1000 - 3600) * 1000;
      const known: HistoryRecord[] = [];
      // "backup --full": 10 runs of 100..1000 ms, 2 failed (one timed out); "report 50%_x": 4 runs on node-b
      for (let i = 1; i <= 10; i++) {
        known.push(
          run({
            taskId: `k${i}`,
            durationMs: i * 100,
            finishedAt: T + 10_000 + i,
            status: i === 3 ? 'failed' : i === 7 ? 'timed out' : 'succeeded',
            exitCode: i === 3 ? 1 : i === 7 ? null : 0,
          }),
        );
      }
      for (let i = 1; i <= 4; i++) {
        known.push(
          run({
            taskId: `r${i}`,
            command: 'report 50%_x',
            node: 'node-b',
            durationMs: 10,
            finishedAt: T + 20_000 + i,
            status: i === 4 ? 'killed' : 'succeeded',
          }),
        );
      }
      assert.equal(await store.insert(known), 14);
      // the same runs again (a writer that died before trimming its outbox): none is added
      assert.equal(await store.insert(known.slice(0, 5)), 0);

      const list = async (query: string) =>
        ((await api(coyotes.baseUrl, 'GET', `/history?channel=known${query}`)).json.data.items as { task_id: string }[]).map(
          (r) => r.task_id,
        );
      assert.deepEqual(await list('&status=failed'), ['k3']);
      assert.deepEqual(await list(`&status=${encodeURIComponent('timed out')}`), ['k7']);
      // LIKE's wildcards in the text are literal
      assert.deepEqual(await list(`&command=${encodeURIComponent('50%_')}`), ['r4', 'r3', 'r2', 'r1']);
      assert.deepEqual(await list('&node=node-b&status=killed'), ['r4']);
      // from/to in unix seconds: finished in [T + 10.005 s, T + 10.008 s)
      assert.deepEqual(await list(`&from=${T / 1000 + 10}.005&to=${T / 1000 + 10}.008`), ['k7', 'k6', 'k5']);
      assert.deepEqual(await list(`&from=${encodeURIComponent(new Date(T + 20_003).toISOString())}`), ['r4', 'r3']);

      const seen: string[] = [];
      let cursor = '';
      for (let pages = 0; pages < 10; pages++) {
        const page = await api(coyotes.baseUrl, 'GET', `/history?channel=known&limit=4${cursor}`);
        seen.push(...(page.json.data.items as { task_id: string }[]).map((r) => r.task_id));
        if (!page.json.data.next_cursor) break;
        cursor = `&cursor=${page.json.data.next_cursor as string}`;
      }
      assert.deepEqual(seen, ['r4', 'r3', 'r2', 'r1', 'k10', 'k9', 'k8', 'k7', 'k6', 'k5', 'k4', 'k3', 'k2', 'k1']);

      const stats = (await api(coyotes.baseUrl, 'GET', '/history/stats?channel=known')).json.data;
      assert.deepEqual(stats.channels, [{ channel: 'known', runs: 14, failures: 2, failure_rate: 2 / 14, p50_ms: 350, p95_ms: 935 }]);
      assert.deepEqual(stats.commands, [
        // continuous percentiles: p50 of 100..1000 is 550, p95 is 900 + 0.55 × 100
        { channel: 'known', command: 'backup --full', runs: 10, failures: 2, failure_rate: 0.2, p50_ms: 550, p95_ms: 955 },
        { channel: 'known', command: 'report 50%_x', runs: 4, failures: 0, failure_rate: 0, p50_ms: 10, p95_ms: 10 },
      ]);
      const ranged = (await api(coyotes.baseUrl, 'GET', `/history/stats?channel=known&from=${T / 1000 + 20}&to=${T / 1000 + 21}`)).json
        .data;
      assert.deepEqual(
        ranged.channels.map((s: { runs: number }) => s.runs),
        [4],
      );

      // the CLI verb reads the same routes
      const cli = async (...args: string[]) =>
        JSON.parse((await exec(process.execPath, [BIN, 'history', ...args, '--addr', coyotes.httpAddr, '--json'])).stdout) as {
          items?: { task_id: string }[];
          channels?: { runs: number }[];
        };
      assert.deepEqual(
        (await cli('--channel', 'known', '--status', 'failed')).items!.map((r) => r.task_id),
        ['k3'],
      );
      assert.deepEqual(
        (await cli('stats', '--channel', 'known')).channels!.map((r) => r.runs),
        [14],
      );

      const refused = await api(coyotes.baseUrl, 'GET', '/history?status=lost');
      assert.equal(refused.status, 400);
      assert.equal(refused.code, 'COY_ERR_REQUEST_INVALID');
      assert.match(refused.json.message, /^status must be one of/);
      assert.equal((await api(coyotes.baseUrl, 'GET', '/history?cursor=nope')).status, 400);
    });

    test('retention deletes the runs older than -history-retention-days, keeps the others', async () => {
      const ids = await waitFor(
        'the pruning',
        async () => {
          const { items } = await store.list({ channel: 'retention' }, 10);
          return items.length === 1 ? items.map((r) => r.taskId) : false;
        },
        60_000,
      );
      assert.deepEqual(ids, ['kept']);
    });

    test('a wrong password is one clear line at start and exit code 2', async () => {
      await assert.rejects(HistoryStore.open(sql.wrongPasswordUrl, { migrate: true }), { code: 'COY_ERR_HISTORY_UNREACHABLE' });
      const refused = await startCoyotes({ redisAddr: redis.addr, args: ['-history-url', sql.wrongPasswordUrl], waitHttp: false });
      const status = await refused.exited;
      assert.equal(status.code, 2);
      const lines = plainLines(refused.output());
      assert.equal(lines.length, 1, refused.output());
      assert.match(
        lines[0]!,
        new RegExp(
          `^coyotes: history-url ${sql.dialect}://coyotes:\\*\\*\\*@127\\.0\\.0\\.1:${sql.port}/coyotes_history: .*(password|Access denied)`,
        ),
      );
      assert.doesNotMatch(refused.output(), /not-the-password/);
    });
  });
}
