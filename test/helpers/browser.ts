import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { waitFor } from './wait.js';

/** Debian's chromium (scripts/bootstrap.sh installs it); playwright-core downloads no browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where tests save screenshots (gitignored). */
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');

/** Flags for a machine with no network beyond loopback: nothing phones home or waits for a GPU. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Messages the page logged at error level and uncaught exceptions, for assertions. */
  errors: string[];
  /** Saves a full-page screenshot as test-artifacts/<name>.png and returns its path. */
  screenshot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

/** Headless Chromium with a new, empty profile, removed on close. */
export async function startBrowser(viewport = { width: 1280, height: 860 }): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'coyotes-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  const watch = (target: Page) => {
    target.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    target.on('pageerror', (error) => errors.push(error.message));
  };
  watch(page);
  context.on('page', watch);
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context,
    page,
    errors,
    async screenshot(name, target = page) {
      const file = path.join(ARTIFACTS, `${name}.png`);
      await target.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Text of a selector once it matches `expected` (the page redraws as it refreshes: polled). */
export async function expectText(page: Page, selector: string, expected: RegExp, timeout = 20_000): Promise<string> {
  const locator = page.locator(selector).first();
  await locator.waitFor({ timeout });
  return waitFor(
    `${selector} to read ${expected}`,
    async () => {
      const text = (await locator.textContent()) ?? '';
      return expected.test(text) ? text : undefined;
    },
    timeout,
  );
}
