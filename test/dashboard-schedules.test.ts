// The dashboard's schedules tab in headless Chromium: it lists the schedules with their next fire
// time, its Pause and Resume buttons change the schedule on the server, and a run is a link to its task.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { expectText, startBrowser } from './helpers/browser.js';
import type { TestBrowser } from './helpers/browser.js';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { stopLeavingNothing } from './helpers/stop.js';
import { waitFor } from './helpers/wait.js';

describe('dashboard: the schedules tab', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let browser: TestBrowser;
  let page: Page;
  const schedule = async (name: string) => (await api(coyotes.baseUrl, 'GET', `/schedules/${name}`)).json.data;
  const row = (name: string): Locator =>
    page.locator('tbody tr', { has: page.locator('td:first-child', { hasText: new RegExp(`^${name}$`) }) });

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
    browser = await startBrowser();
    page = browser.page;
    for (const fields of [
      { name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', channel: 'cron', task: 'true nightly' },
      { name: 'hourly', cron: '0 * * * *', channel: 'default', task: 'true hourly' },
    ]) {
      assert.equal((await api(coyotes.baseUrl, 'POST', '/schedules', fields)).status, 200);
    }
  });
  after(async () => {
    await browser?.close();
    if (coyotes) await stopLeavingNothing(coyotes);
    await redis?.stop();
  });

  test('lists every schedule with its cron and next fire time', async () => {
    await page.goto(`${coyotes.baseUrl}/?interval=400#/schedules`);
    await expectText(page, 'h2', /^Schedules \(2\)$/);
    for (const name of ['nightly', 'hourly']) {
      const { next_runs: next, cron, timezone } = await schedule(name);
      // the page shows the next tick in the browser's own locale and zone
      const shown = await page.evaluate((iso: string) => new Date(iso).toLocaleString(), next[0] as string);
      await waitFor(`${name}'s next fire time`, async () => (await row(name).locator('td').nth(3).textContent()) === shown, 20_000);
      assert.equal(await row(name).locator('td').nth(1).textContent(), `${cron} (${timezone})`);
    }
    assert.deepEqual(browser.errors, []);
  });

  test('Pause and Resume change the schedule on the server; a run is linked to its task', async () => {
    await page.goto(`${coyotes.baseUrl}/?interval=400#/schedules`);
    await row('nightly').getByRole('button', { name: 'Pause' }).click();
    await waitFor('nightly paused on the server', async () => (await schedule('nightly')).paused === true, 20_000);
    assert.deepEqual((await schedule('nightly')).next_runs, []);
    await waitFor('the row to say paused', async () => (await row('nightly').locator('td').nth(3).textContent()) === 'paused', 20_000);
    assert.equal((await schedule('hourly')).paused, false, 'only the clicked schedule is paused');

    // a run (run now) shows in the row as a link to its task
    await row('nightly').getByRole('button', { name: 'Run now' }).click();
    const run = await waitFor(
      'the run to end',
      async () => {
        const last = (await schedule('nightly')).last_run as { task_id: string; status: string } | null;
        return last?.status === 'succeeded' ? last : undefined;
      },
      30_000,
    );
    const link = row('nightly').locator('td').nth(4).locator('a');
    await waitFor('the run in the row', async () => (await link.count()) === 1 && (await link.textContent()) === 'succeeded (0)', 20_000);
    assert.equal(await link.getAttribute('href'), `#/tasks/${run.task_id}`);
    // the link opens the task's page (the row redraws every 400 ms: followed by its href)
    await page.goto(`${coyotes.baseUrl}/?interval=400${(await link.getAttribute('href'))!}`);
    await expectText(page, 'body', new RegExp(`Task ${run.task_id}`));
    const task = (await api(coyotes.baseUrl, 'GET', `/tasks/${run.task_id}`)).json.data;
    assert.equal(task.schedule, 'nightly');

    await page.goto(`${coyotes.baseUrl}/?interval=400#/schedules`);
    await row('nightly').getByRole('button', { name: 'Resume' }).click();
    await waitFor('nightly resumed on the server', async () => (await schedule('nightly')).paused === false, 20_000);
    const { next_runs: next } = await schedule('nightly');
    assert.equal(next.length, 5);
    const shown = await page.evaluate((iso: string) => new Date(iso).toLocaleString(), next[0] as string);
    await waitFor(
      'the row to show the next fire time again',
      async () => (await row('nightly').locator('td').nth(3).textContent()) === shown,
      20_000,
    );
    assert.deepEqual(browser.errors, []);
  });
});
