import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBrowser } from './helpers/browser.js';
import type { TestBrowser } from './helpers/browser.js';
import type { Route } from 'playwright-core';
import { startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { startRedis } from './helpers/redis.js';
import { stopLeavingNothing } from './helpers/stop.js';
import type { TestRedis } from './helpers/redis.js';

const TOKEN = 'dashboard-test-token-4f1c';

describe('dashboard with -http-token: the page loads freely, the data needs the token', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let browser: TestBrowser;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-http-token', TOKEN] });
    browser = await startBrowser();
  });
  after(async () => {
    await browser?.close();
    if (coyotes) await stopLeavingNothing(coyotes);
    await redis?.stop();
  });

  test('the page and its assets are served without a token, with a same-origin content policy', async () => {
    for (const route of ['/', '/dashboard/main.js', '/dashboard/style.css']) {
      const response = await fetch(coyotes.baseUrl + route);
      assert.equal(response.status, 200, route);
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    }
    for (const sneaky of ['/dashboard/%2e%2e/package.json', '/dashboard/..%2fbuild.mjs', '/dashboard/']) {
      assert.equal((await fetch(coyotes.baseUrl + sneaky)).status, 401, sneaky);
    }
    assert.equal((await fetch(`${coyotes.baseUrl}/stats`)).status, 401);
  });

  test('a wrong token is refused and asked again; the right one shows the channels and stays for the tab', async () => {
    const { page } = browser;
    await page.goto(`${coyotes.baseUrl}/?interval=400`);
    await page.locator('dialog[open] input[name=token]').waitFor();
    await browser.screenshot('sign-in');
    await page.fill('dialog[open] input[name=token]', 'wrong');
    await page.click('[data-testid=dialog-submit]');
    await page.locator('dialog[open] :text("That token was refused")').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('coyotes.token')), null);

    await page.fill('dialog[open] input[name=token]', TOKEN);
    await page.click('[data-testid=dialog-submit]');
    await page.locator('tr[data-channel="default"]').waitFor();
    assert.equal(await page.locator('dialog[open]').count(), 0);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('coyotes.token')), TOKEN);

    await page.reload();
    await page.locator('tr[data-channel="default"]').waitFor();
    assert.equal(await page.locator('dialog[open]').count(), 0);
  });

  test('a 401 that answers a token already replaced does not sign the tab out again', async () => {
    const { page } = browser;
    await page.evaluate(() => sessionStorage.clear());
    // Hold every /metrics request that carries the wrong token, so its 401 lands after sign-in.
    const held: Route[] = [];
    await page.route('**/metrics', (route) => {
      if (route.request().headers().authorization === 'Bearer wrong') held.push(route);
      else void route.continue();
    });
    try {
      await page.reload();
      await page.locator('dialog[open] input[name=token]').waitFor();
      await page.fill('dialog[open] input[name=token]', 'wrong');
      await page.click('[data-testid=dialog-submit]');
      await page.locator('dialog[open] :text("That token was refused")').waitFor();
      await page.fill('dialog[open] input[name=token]', TOKEN);
      await page.click('[data-testid=dialog-submit]');
      await page.locator('tr[data-channel="default"]').waitFor();
      assert.ok(held.length > 0, 'a request with the wrong token was held');

      const stale = page.waitForResponse((r) => r.url().endsWith('/metrics') && r.status() === 401);
      for (const route of held.splice(0)) await route.continue();
      await stale;
      // The next refresh after the stale answer has been handled by the page.
      await page.waitForResponse((r) => r.url().endsWith('/metrics') && r.status() === 200);
      assert.equal(await page.locator('dialog[open]').count(), 0);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('coyotes.token')), TOKEN);
    } finally {
      await page.unroute('**/metrics');
    }
  });
});
