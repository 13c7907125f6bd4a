import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { expectText, startBrowser } from './helpers/browser.js';
import type { TestBrowser } from './helpers/browser.js';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { startRedis } from './helpers/redis.js';
import { stopLeavingNothing } from './helpers/stop.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-dashboard-'));
const file = (name: string) => path.join(work, name);
/** A command that runs until its gate file exists: it stays queued or running as long as a test needs. */
const gated = (gate: string, then = 'true') => `/bin/sh -c 'while [ ! -e ${file(gate)} ]; do sleep 0.05; done; ${then}'`;
const open = (gate: string) => writeFileSync(file(gate), '');

describe('dashboard: a real Coyotes seen and steered in headless Chromium', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let browser: TestBrowser;
  let page: Page;
  const home = () => `${coyotes.baseUrl}/?interval=400`;
  const task = async (id: string) => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '1'] });
    browser = await startBrowser();
    page = browser.page;
  });
  after(async () => {
    for (const gate of ['gate-1', 'gate-2', 'gate-3', 'gate-4']) open(gate);
    await browser?.close();
    if (coyotes) await stopLeavingNothing(coyotes);
    await redis?.stop();
  });

  test('the page loads without a token prompt and lists channels with their slots, and the node', async () => {
    await page.goto(home());
    for (const name of ['biz', 'cron', 'default']) {
      assert.equal(await expectText(page, `tr[data-channel="${name}"] [data-testid=slots]`, /\d+ \/ 1/), '0 / 1');
    }
    const hostname = (await api(coyotes.baseUrl, 'GET', '/nodes')).json.data[0].hostname;
    await expectText(page, 'section:has(h2:text("Nodes")) tbody', new RegExp(hostname));
    await expectText(page, '#live', /^live/);
    assert.equal(await page.locator('dialog[open]').count(), 0);
  });

  test('a task pushed from the page moves from queued to running to done', async () => {
    const blocker = await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { task: gated('gate-1') });
    await waitFor('the blocker to run', async () => (await task(blocker.json.data.task_id)).status === 'running');

    await page.goto(home());
    await page.click('[data-testid=push]');
    await page.selectOption('dialog select[name=channel]', 'default');
    await page.fill('dialog input[name=task]', gated('gate-2', 'echo finished-ok'));
    await page.click('[data-testid=dialog-submit]');
    await page.waitForURL(/#\/tasks\/[A-Za-z0-9]{21}$/);
    const id = page.url().split('/').pop()!;
    assert.equal(await expectText(page, '[data-testid=task-status]', /queued/), 'queued');
    assert.equal((await task(id)).status, 'queued');
    await browser.screenshot('task-queued');

    open('gate-1');
    assert.equal(await expectText(page, '[data-testid=task-status]', /running/), 'running');
    await expectText(page, '[data-testid=elapsed]', /\d/);
    await browser.screenshot('task-running');

    open('gate-2');
    assert.equal(await expectText(page, '[data-testid=task-status]', /succeeded/), 'succeeded');
    assert.equal(await expectText(page, '[data-testid=exit-code]', /\d/), '0');
    await expectText(page, '[data-testid=stdout]', /finished-ok/);
    await browser.screenshot('task-done');
  });

  test("a running task's output is followed live where the server streams logs; elsewhere the page says so", async () => {
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', {
      task: gated('gate-4', 'echo bye').replace("-c '", "-c 'echo hello-live; "),
    });
    const id = pushed.json.data.task_id;
    await waitFor('the task to run', async () => (await task(id)).status === 'running');
    const probe = new AbortController();
    const streams = (await fetch(`${coyotes.baseUrl}/tasks/${id}/logs`, { signal: probe.signal })).status !== 404;
    probe.abort();
    await page.goto(`${home()}#/tasks/${id}`);
    if (streams) await expectText(page, '[data-testid=live-log]', /hello-live/);
    else await expectText(page, '#log-card', /does not stream logs/);
    open('gate-4');
    assert.equal(await expectText(page, '[data-testid=task-status]', /succeeded/), 'succeeded');
    await expectText(page, '[data-testid=stdout]', /hello-live\s+bye/);
  });

  test('resizing a channel from the page changes its slots, and the new slots run tasks', async () => {
    await page.goto(home());
    const row = 'tr[data-channel="default"]';
    await expectText(page, `${row} [data-testid=slots]`, /^0 \/ 1$/);
    await page.click(`${row} [data-testid=resize]`);
    await page.fill('dialog input[name=worker]', '3');
    await page.click('[data-testid=dialog-submit]');
    await expectText(page, `${row} [data-testid=slots]`, /^0 \/ 3$/);
    const stats = (await api(coyotes.baseUrl, 'GET', '/stats')).json.data.channels;
    assert.equal(stats.find((c: { name: string }) => c.name === 'default').workers, 3);

    for (let i = 0; i < 3; i++) await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { task: gated('gate-3') });
    await expectText(page, `${row} [data-testid=slots]`, /^3 \/ 3$/);
    await browser.screenshot('overview-resized');
    open('gate-3');
    await expectText(page, `${row} [data-testid=slots]`, /^0 \/ 3$/);
  });

  test('killing a running task asks first; confirmed, the command is killed and the task fails', async () => {
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/biz/tasks', { task: 'sleep 60' });
    const id = pushed.json.data.task_id;
    await page.goto(`${home()}#/channels/biz/running`);
    const row = `[data-testid=list-running] tr[data-task="${id}"]`;
    await page.locator(row).waitFor({ timeout: 15_000 });

    await page.click(`${row} [data-testid=kill]`);
    await page.locator('dialog[open]').waitFor();
    await browser.screenshot('kill-confirmation');
    await page.click('dialog[open] button:text("Cancel")');
    assert.equal((await task(id)).status, 'running');

    await page.click(`${row} [data-testid=kill]`);
    await page.click('[data-testid=dialog-submit]');
    const killed = await waitFor('the task to fail', async () => {
      const detail = await task(id);
      return detail.status === 'failed' ? detail : undefined;
    });
    assert.equal(killed.result.outcome, 'killed');
    await page.locator(row).waitFor({ state: 'detached' });
  });

  test('a failed task is retried from the failed list and succeeds', async () => {
    const flag = file('failed-once');
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/cron/tasks', {
      command: '/bin/sh',
      args: ['-c', `test -e ${flag} || { touch ${flag}; echo first run fails >&2; exit 3; }`],
      task: 'fails once, then succeeds',
    });
    const id = pushed.json.data.task_id;
    await waitFor('the first run to fail', async () => (await task(id)).status === 'failed');

    await page.goto(`${home()}#/channels/cron/failed`);
    const row = `[data-testid=list-failed] tr[data-task="${id}"]`;
    await page.locator(row).waitFor({ timeout: 15_000 });
    await browser.screenshot('failed-list');
    await page.click(`${row} [data-testid=retry]`);
    await waitFor('the retry to succeed', async () => (await task(id)).status === 'succeeded');
    await page.locator(row).waitFor({ state: 'detached' });

    await page.goto(`${home()}#/tasks/${id}`);
    assert.equal(await expectText(page, '[data-testid=task-status]', /succeeded/), 'succeeded');
  });

  test('search finds a queued task by command text and by id; a queued task is cancelled from its list', async () => {
    await api(coyotes.baseUrl, 'PATCH', '/channels/biz', { paused: 'true' });
    const ids: string[] = [];
    for (const word of ['alpha', 'bravo', 'charlie']) {
      ids.push((await api(coyotes.baseUrl, 'POST', '/channels/biz/tasks', { task: `echo ${word}` })).json.data.task_id);
    }
    await page.goto(`${home()}#/channels/biz/queued`);
    await expectText(page, '[data-testid=list-queued]', /charlie/);
    await page.fill('[data-testid=search]', 'bravo');
    await waitFor('one match', async () =>
      (await page.locator('[data-testid=list-queued] tbody tr[data-task]').allTextContents()).join('|').match(/^[^|]*bravo[^|]*$/),
    );
    await page.fill('[data-testid=search]', ids[2]!);
    // the list shows earlier results until the search applies: wait for the one row left to be charlie's
    await waitFor('the search by id to leave charlie alone', async () => {
      const shown = await page.locator('[data-testid=list-queued] tbody tr[data-task]').allTextContents();
      return shown.length === 1 && /charlie/.test(shown[0]!) ? shown : undefined;
    });
    // listed queued tasks carry their ids: one is cancelled from the list, after confirmation
    await page.fill('[data-testid=search]', '');
    const queuedRow = `[data-testid=list-queued] tr[data-task="${ids[0]}"]`;
    await page.click(`${queuedRow} button:text("Cancel")`);
    await page.click('[data-testid=dialog-submit]');
    await page.locator(queuedRow).waitFor({ state: 'detached' });
    assert.equal((await api(coyotes.baseUrl, 'GET', `/tasks/${ids[0]}`)).json.data.status, 'cancelled');
    // the cancelled task keeps its record, shown on its page
    await page.goto(`${home()}#/tasks/${ids[0]}`);
    assert.equal(await expectText(page, '[data-testid=task-status]', /cancelled/), 'cancelled');
    await expectText(page, '[data-testid=cancelled-at]', /\d/);
    await api(coyotes.baseUrl, 'PATCH', '/channels/biz', { paused: 'false' });
  });

  test('delayed tasks and dead letters are listed, and a delayed task is cancelled after confirmation', async () => {
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/cron/tasks', { task: 'echo later', delay: '3600' });
    const id = pushed.json.data.task_id;
    await page.goto(`${home()}#/channels/cron/delayed`);
    const row = `[data-testid=list-delayed] tr[data-task="${id}"]`;
    await expectText(page, row, /in (59|60)m/);
    await page.click(`${row} button:text("Cancel")`);
    await page.click('[data-testid=dialog-submit]');
    await page.locator(row).waitFor({ state: 'detached' });
    assert.equal((await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data.status, 'cancelled');

    await redis.client.lpush(keys.prepareQueue, '{"task": "half an entry"');
    await page.goto(`${home()}#/dead-letters`);
    await expectText(page, 'main table', /half an entry/);
    await expectText(page, 'main h2', /Dead letters \(1\)/);
    await browser.screenshot('dead-letters');
  });

  test('a phone-width screen in read-only mode shows the queue and offers no action', async () => {
    const phone = await browser.context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${coyotes.baseUrl}/?readonly&interval=400`);
    await phone.locator('tr[data-channel="default"]').waitFor();
    assert.equal(await phone.locator('[data-testid=push], [data-testid=resize], button.danger').count(), 0);
    await expectText(phone, '#mode', /read-only/);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at phone width`);
    await browser.screenshot('phone-overview', phone);
    await phone.close();
  });

  test('the page raised no script error', () => {
    // /metrics probes answer 404 on servers without it; everything else must load
    const errors = browser.errors.filter((error) => !/status of 404/.test(error));
    assert.deepEqual(errors, []);
  });
});
