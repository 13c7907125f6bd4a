import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { HistoryStore } from '../packages/history/src/index.js';
import type { HistoryRecord } from '../packages/protocol/src/index.js';
import { expectText, startBrowser } from './helpers/browser.js';
import type { TestBrowser } from './helpers/browser.js';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { startPostgres } from './helpers/postgres.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { run as historyRun } from './helpers/history-behaviour.js';
import type { TestSqlServer } from './helpers/sql-server.js';
import { stopLeavingNothing } from './helpers/stop.js';
import { waitFor } from './helpers/wait.js';

// The dashboard's history view (#/history) on a real server with a real PostgreSQL history:
// known runs written to SQL beside one real task, filtered from the page, drawn in the chart.

/** An hour ago, on a whole second: inside the retention, and the known runs one minute apart. */
const T = Math.floor(Date.now() / 1000 - 3600) * 1000;

const run = (over: Partial<HistoryRecord>) =>
  historyRun({ channel: 'reports', command: 'report --daily', queuedAt: T, startedAt: T, ...over });

// 6 reports of 100..600 ms (the third failed), 3 backups of 2, 3 and 9 s (the last timed out)
const KNOWN: HistoryRecord[] = [
  ...[1, 2, 3, 4, 5, 6].map((i) =>
    run({ taskId: `rep${i}`, durationMs: i * 100, finishedAt: T + i * 60_000, ...(i === 3 ? { status: 'failed', exitCode: 1 } : {}) }),
  ),
  ...[2000, 3000, 9000].map((ms, i) =>
    run({
      taskId: `bak${i + 1}`,
      channel: 'backups',
      command: 'backup --full',
      durationMs: ms,
      finishedAt: T + 30_000 + i * 120_000,
      ...(ms === 9000 ? { status: 'timed out', exitCode: null } : {}),
    }),
  ),
];

/** The rows the page lists, as task ids, and the chart's dots, as task id → [x, y, class]. */
async function shown(page: Page): Promise<{ rows: string[]; dots: Map<string, [number, number, string]> }> {
  const rows = await page
    .locator('[data-testid=history-rows] tbody tr')
    .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task')!));
  const dots = await page
    .locator('[data-testid=duration-chart] circle')
    .evaluateAll((circles) =>
      circles.map(
        (c) =>
          [c.getAttribute('data-task')!, [Number(c.getAttribute('cx')), Number(c.getAttribute('cy')), c.getAttribute('class')!]] as const,
      ),
    );
  return { rows, dots: new Map(dots as [string, [number, number, string]][]) };
}

describe('dashboard: the task history view, its filters and its duration chart', () => {
  let sql: TestSqlServer;
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let browser: TestBrowser;
  let page: Page;
  let real: string;

  /** Waits until the page lists exactly `ids` (newest first) and draws one dot for each. */
  const expectRuns = (ids: string[]) =>
    waitFor(
      `the page to list ${ids.join(', ')}`,
      async () => {
        const now = await shown(page);
        return now.rows.join() === ids.join() && now.dots.size === ids.length && ids.every((id) => now.dots.has(id)) ? now : false;
      },
      20_000,
    );

  before(async () => {
    sql = await startPostgres();
    redis = await startRedis();
    const store = await HistoryStore.open(sql.url, { migrate: true });
    await store.insert(KNOWN);
    await store.close();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-history-url', sql.url] });
    real = (await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { command: '/bin/echo', args: ['from the queue'] })).json.data
      .task_id as string;
    await waitFor(
      'the real task in the history',
      async () => (await api(coyotes.baseUrl, 'GET', '/history?channel=default')).json.data.items.length === 1,
      60_000,
    );
    browser = await startBrowser();
    page = browser.page;
  });
  after(async () => {
    await browser?.close();
    if (coyotes) await stopLeavingNothing(coyotes);
    await redis?.stop();
    await sql?.stop();
  });

  test('every run is listed newest first and drawn: later to the right, longer higher, coloured by status', async () => {
    await page.goto(`${coyotes.baseUrl}/?interval=400#/history`);
    const newestFirst = [...KNOWN].sort((a, b) => b.finishedAt - a.finishedAt).map((r) => r.taskId);
    const { dots } = await expectRuns([real, ...newestFirst]);
    assert.equal(await page.locator('header nav a.current').textContent(), 'History');
    await expectText(page, `tr[data-task="${real}"] td.command`, /^\/bin\/echo from the queue$/);
    assert.equal(await expectText(page, 'tr[data-task="bak3"] [data-testid=run-duration]', /s$/), '9.0 s');

    const x = (id: string) => dots.get(id)![0];
    const y = (id: string) => dots.get(id)![1];
    // across: finish time (the real task, run just now, rightmost)
    const byTime = [...KNOWN].sort((a, b) => a.finishedAt - b.finishedAt).map((r) => r.taskId);
    for (let i = 1; i < byTime.length; i++) assert.ok(x(byTime[i]!) > x(byTime[i - 1]!), `${byTime[i]} right of ${byTime[i - 1]}`);
    assert.ok(x(real) > x('rep6'));
    // up: duration (SVG y grows downwards), the 9 s backup at the top
    const byDuration = [...KNOWN].sort((a, b) => a.durationMs - b.durationMs).map((r) => r.taskId);
    for (let i = 1; i < byDuration.length; i++)
      assert.ok(y(byDuration[i]!) < y(byDuration[i - 1]!), `${byDuration[i]} above ${byDuration[i - 1]}`);
    assert.equal(Math.min(...[...dots.values()].map(([, top]) => top)), y('bak3'));
    assert.equal(await page.locator('[data-testid=duration-chart] .peak').textContent(), '9.0 s');
    assert.equal(dots.get('bak3')![2], 'dot dot-timed-out');
    assert.equal(dots.get('rep3')![2], 'dot dot-failed');
    assert.equal(dots.get('rep1')![2], 'dot dot-succeeded');
    await browser.screenshot('history-view');
  });

  test('the filters narrow the rows and the chart alike: status, channel, command text', async () => {
    await page.goto(`${coyotes.baseUrl}/?interval=400#/history`);
    await page.selectOption('[data-testid=history-status]', 'failed');
    await expectRuns(['rep3']);
    await page.selectOption('[data-testid=history-status]', 'timed out');
    await expectRuns(['bak3']);
    await page.selectOption('[data-testid=history-status]', '');

    await page.fill('[data-testid=history-channel]', 'backups');
    await expectRuns(['bak3', 'bak2', 'bak1']);
    await page.fill('[data-testid=history-channel]', '');

    await page.fill('[data-testid=history-command]', 'daily');
    await expectRuns(['rep6', 'rep5', 'rep4', 'rep3', 'rep2', 'rep1']);
    // all three together
    await page.fill('[data-testid=history-channel]', 'reports');
    await page.selectOption('[data-testid=history-status]', 'succeeded');
    await expectRuns(['rep6', 'rep5', 'rep4', 'rep2', 'rep1']);
    await page.fill('[data-testid=history-command]', 'no such command');
    await expectText(page, 'p.empty', /^No run matches\.$/);
    assert.equal(await page.locator('[data-testid=duration-chart]').count(), 0);
  });

  test('on a server without -history-url the view says how to turn it on', async () => {
    const plainRedis = await startRedis();
    const plain = await startCoyotes({ redisAddr: plainRedis.addr });
    try {
      const other = await browser.context.newPage();
      await other.goto(`${plain.baseUrl}/#/history`);
      await expectText(other, '[data-testid=history-off]', /history is off: start coyotes with -history-url/);
      await other.close();
    } finally {
      await stopLeavingNothing(plain);
      await plainRedis.stop();
    }
  });

  test('the page raised no script error', () => {
    // the history-off page's GET /history answers 404; everything else must load
    const errors = browser.errors.filter((error) => !/status of 404/.test(error));
    assert.deepEqual(errors, []);
  });
});
