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
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { stopLeavingNothing } from './helpers/stop.js';
import { waitFor } from './helpers/wait.js';

// What issue 20's operator saw on the dashboard: a wrong elapsed time, an empty chart after a
// reload, a CPU column without the commands, clipped buttons on a phone, a huge name making a
// list as tall as a building, and argv shown without its quoting.

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-dashboard-operator-'));
const gate = path.join(work, 'gate');
const gated = `/bin/sh -c 'while [ ! -e ${gate} ]; do sleep 0.05; done'`;
const BUSY_LOOP = ['-c', 'while :; do :; done'];
const PHONE = { width: 375, height: 740 };

/** Seconds in the dashboard's duration format ("4.2 s", "17 s", "2m 05s"). */
function seconds(text: string): number {
  const short = /^(\d+(?:\.\d+)?) s$/.exec(text);
  if (short) return Number(short[1]);
  const long = /^(\d+)m (\d+)s$/.exec(text);
  if (long) return Number(long[1]) * 60 + Number(long[2]);
  throw new Error(`not a duration in seconds: ${JSON.stringify(text)}`);
}

describe('dashboard: what an operator reads is true, at any width', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let browser: TestBrowser;
  let page: Page;
  const home = () => `${coyotes.baseUrl}/?interval=400`;
  const task = async (id: string) => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data;
  const push = async (channel: string, body: Record<string, string | string[]>) =>
    (await api(coyotes.baseUrl, 'POST', `/channels/${channel}/tasks`, body)).json.data.task_id as string;
  let busy: string;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
    browser = await startBrowser();
    page = browser.page;
  });
  after(async () => {
    writeFileSync(gate, '');
    if (busy) await api(coyotes.baseUrl, 'POST', `/tasks/${busy}/kill`).catch(() => undefined);
    await browser?.close();
    if (coyotes) await stopLeavingNothing(coyotes);
    await redis?.stop();
  });

  test('the throughput chart shows the last minutes from the server, on a page opened after the tasks ended', async () => {
    const ids = [];
    for (const command of ['true', 'true', 'true', 'false']) ids.push(await push('default', { task: command }));
    for (const id of ids) await waitFor(`task ${id} to end`, async () => ['succeeded', 'failed'].includes((await task(id)).status), 30_000);
    const history = (await api(coyotes.baseUrl, 'GET', '/throughput')).json.data;
    assert.equal(history.window_minutes, 10);
    assert.equal(history.minutes.length, 10);
    const sum = (key: 'processed' | 'failed') =>
      history.minutes.reduce((total: number, minute: Record<string, number>) => total + minute[key]!, 0);
    assert.deepEqual({ processed: sum('processed'), failed: sum('failed') }, { processed: 4, failed: 1 });

    // a page opened now (a reload, or another person's screen) draws that history at once
    const fresh = await browser.context.newPage();
    await fresh.goto(home());
    await fresh.locator('figure.chart-box').waitFor({ timeout: 20_000 });
    const bars = await waitFor(
      'bars in the chart',
      async () => {
        const [ok, failed] = await Promise.all(
          ['rect.bar-ok', 'rect.bar-failed'].map((bar) => fresh.locator(`figure.chart-box ${bar}`).count()),
        );
        return ok! > 0 && failed! > 0 ? { ok, failed } : undefined;
      },
      10_000,
    ).catch(() => null);
    await fresh.screenshot({ path: path.join(work, 'throughput-after-reload.png') });
    assert.ok(
      bars,
      `a page opened after 4 tasks ended (1 failed) draws an empty throughput chart: see ${path.join(work, 'throughput-after-reload.png')}`,
    );
    await fresh.close();
  });

  test('a task running for a known time shows that time, read from running_since, not a lower bound', async () => {
    const id = await push('default', { task: gated });
    const since = await waitFor(
      'the task to have run 4 s',
      async () => {
        const detail = await task(id);
        const at = detail.status === 'running' ? Date.parse(detail.running_since) : NaN;
        return Date.now() - at >= 4000 ? at : undefined;
      },
      60_000,
    );
    await page.goto(`${home()}#/tasks/${id}`);
    const shown = await expectText(page, '[data-testid=elapsed]', /\d/);
    const openedAfter = (Date.now() - since) / 1000;
    assert.doesNotMatch(shown, /≥/, `the page shows a lower bound (${shown}) although the API says since when the task runs`);
    assert.ok(seconds(shown) >= 4, `the task has run ${openedAfter.toFixed(1)} s, the page says ${shown}`);
  });

  test('argv is shown shell-quoted on the task page and in lists', async () => {
    busy = await push('biz', { command: 'sh', args: BUSY_LOOP });
    await waitFor('the busy loop to run', async () => (await task(busy)).status === 'running', 30_000);

    await page.goto(`${home()}#/tasks/${busy}`);
    assert.equal(await expectText(page, '[data-testid=command-line]', /while/), "sh -c 'while :; do :; done'");
    await page.goto(`${home()}#/channels/biz/running`);
    await expectText(page, `[data-testid=list-running] tr[data-task="${busy}"] td.command`, /^sh -c 'while :; do :; done'$/);
  });

  test("the overview's CPU counts the commands a channel runs, not only its process", async () => {
    await page.goto(home());
    await page.locator('tr[data-channel="biz"]').waitFor({ timeout: 20_000 });
    // the cell under the "CPU" header of biz's row
    const column = await page.locator('table.channels thead th').evaluateAll((ths) => ths.findIndex((th) => th.textContent === 'CPU'));
    const cell = page.locator(`tr[data-channel="biz"] td:nth-child(${column + 1})`);
    // a busy loop takes a core when it can; on a loaded machine it still gets a fair share
    let last = '';
    const cpu = await waitFor(
      'the CPU of biz to show its busy loop',
      async () => {
        last = (await cell.textContent()) ?? '';
        return parseFloat(last) >= 5 ? last : undefined;
      },
      60_000,
    ).catch(() => last);
    const health = (await (await fetch(`${coyotes.baseUrl}/health`)).json()).data.processes.channels.biz;
    assert.ok(
      parseFloat(cpu) >= 5,
      `biz runs a busy loop (${health.running[0]?.cpu} % now), its CPU column reads ${cpu} (the channel process alone: ${health.cpu} %)`,
    );
  });

  test('a huge task name stays one line in a list, cut with an ellipsis', async () => {
    await api(coyotes.baseUrl, 'PATCH', '/channels/cron', { paused: 'true' });
    const short = await push('cron', { task: 'named short', command: 'true' });
    const huge = await push('cron', { task: `echo ${'x'.repeat(900_000)}`, command: 'true' });
    await page.goto(`${home()}#/channels/cron/queued`);
    await page.locator('[data-testid=list-queued]').waitFor({ timeout: 20_000 });
    // both rows measured at one instant (the list redraws as it refreshes)
    const rows = await waitFor(
      'both rows',
      () =>
        page.evaluate(
          (ids) => {
            // no named function in here: tsx would wrap it in a helper the page does not have
            const [short, huge] = ids.map((id) => {
              const tr = document.querySelector<HTMLElement>(`[data-testid=list-queued] tr[data-task="${id}"]`);
              const td = tr?.querySelector<HTMLElement>('td.command');
              return tr && td
                ? { height: tr.getBoundingClientRect().height, clipped: td.scrollWidth > td.clientWidth, chars: td.textContent!.length }
                : null;
            });
            return short && huge ? { short, huge } : undefined;
          },
          [short, huge],
        ),
      20_000,
    );
    assert.ok(
      rows.huge.height <= rows.short.height + 2,
      `a 900 KB name makes its row ${rows.huge.height} px tall, a short one ${rows.short.height} px`,
    );
    assert.ok(
      rows.huge.clipped && rows.huge.chars < 1000,
      `the huge name is not cut with an ellipsis (${rows.huge.chars} characters shown)`,
    );
    await page.goto(`${home()}#/tasks/${huge}`);
    await page.locator('[data-testid=command-line]').waitFor();
    const tall = await page.evaluate(() => document.documentElement.scrollHeight);
    assert.ok(tall < 3000, `the task page of a 900 KB name is ${tall} px tall`);
    await api(coyotes.baseUrl, 'PATCH', '/channels/cron', { paused: 'false' });
  });

  test('at phone width every action button lies wholly inside the screen', async () => {
    const failed = await push('default', { task: "sh -c 'exit 3'" });
    await waitFor('the task to fail', async () => (await task(failed)).status === 'failed', 30_000);
    const phone = await browser.context.newPage();
    await phone.setViewportSize(PHONE);
    const screens: [string, string, string][] = [
      ['overview', '/', 'tr[data-channel="default"]'],
      ['channel', '#/channels/default/failed', `tr[data-task="${failed}"]`],
      ['running list', `#/channels/biz/running`, `tr[data-task="${busy}"]`],
      ['task', `#/tasks/${failed}`, '[data-testid=retry]'],
    ];
    for (const [name, route, ready] of screens) {
      await phone.goto(`${coyotes.baseUrl}/?interval=400${route.startsWith('#') ? route : ''}`);
      await phone.locator(ready).first().waitFor({ timeout: 20_000 });
      const shot = path.join(work, `phone-${name.replace(/ /g, '-')}.png`);
      await phone.screenshot({ path: shot, fullPage: true });
      // every visible button's box, read at one instant (the page redraws as it refreshes)
      const boxes = await phone.evaluate(() =>
        [...document.querySelectorAll('button')]
          .filter((button) => button.offsetParent !== null)
          .map((button) => {
            const box = button.getBoundingClientRect();
            return { label: button.textContent!.trim(), left: box.left, right: box.right };
          }),
      );
      assert.ok(boxes.length > 0, `no button on the ${name} screen`);
      for (const box of boxes) {
        assert.ok(
          box.left >= 0 && box.right <= PHONE.width + 0.5,
          `on the ${name} screen at ${PHONE.width} px, the button "${box.label}" spans x ${Math.round(box.left)}–${Math.round(box.right)}: ` +
            `a person opening ${shot} would see it cut off at the right edge or missing`,
        );
      }
    }
    await phone.close();
  });

  test('the page raised no script error', () => {
    const errors = browser.errors.filter((error) => !/status of 404/.test(error));
    assert.deepEqual(errors, []);
  });
});
