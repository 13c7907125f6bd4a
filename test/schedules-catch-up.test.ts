// catch_up after every master was down: `once` runs once for the missed tick, `none` not at all.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { api } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { killHost } from './helpers/hosts.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { createSchedule, recorder, runs, scheduleConfig, startMasters } from './helpers/schedules.js';
import { waitFor } from './helpers/wait.js';

let redis: TestRedis;
let hosts: RunningCoyotes[] = [];
let work: string;
let config: string;

describe('schedules after every master was down', () => {
  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'coyotes-schedules-'));
    config = scheduleConfig(work);
    redis = await startRedis();
    hosts = await startMasters(redis.addr, 2, config);
  });

  after(async () => {
    await Promise.all(
      hosts.map((h) => {
        const ending = setTimeout(() => killHost(h), 10_000);
        return h.stop('SIGTERM').finally(() => clearTimeout(ending));
      }),
    );
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('catch_up once after both masters were down 5 s: one run for the missed tick; catch_up none: none', async () => {
    const once = path.join(work, 'catch-up-once');
    const none = path.join(work, 'catch-up-none');
    // a tick a few seconds ahead that recurs only a minute later: the one missed while down
    const tick = Math.ceil((Date.now() + 6000) / 1000) * 1000;
    const cron = `${new Date(tick).getUTCSeconds()} * * * * *`;
    const created = await createSchedule(hosts[0]!, { name: 'catch-up-once', cron, catch_up: 'once', ...recorder(once) });
    await createSchedule(hosts[0]!, { name: 'catch-up-none', cron, ...recorder(none) });
    assert.equal(created.next_runs[0], new Date(tick).toISOString());
    for (const host of hosts) killHost(host);
    await Promise.all(hosts.map((h) => h.exited));
    assert.ok(Date.now() < tick, 'every master was down before the tick');
    await sleep(Math.max(5000, tick + 1000 - Date.now()));
    hosts = await startMasters(redis.addr, 2, config);
    const caughtUp = await waitFor('the catch-up run', () => runs(once)[0], 30_000);
    assert.equal(caughtUp.tick, tick);
    await sleep(3000);
    assert.equal(runs(once).length, 1);
    assert.equal(runs(none).length, 0);
    const { json } = await api(hosts[1]!.baseUrl, 'GET', '/schedules');
    for (const name of ['catch-up-once', 'catch-up-none']) {
      const listed = (json.data as { name: string; next_runs: string[] }[]).find((s) => s.name === name)!;
      assert.equal(listed.next_runs[0], new Date(tick + 60_000).toISOString());
    }
  });
});
