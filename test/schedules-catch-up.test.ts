// catch_up after every master was down: `once` runs once for the missed tick, `none` not at all.
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { api } from './helpers/coyotes.js';
import { killHost } from './helpers/hosts.js';
import { createSchedule, recorder, runs, scheduleHarness, startMasters } from './helpers/schedules.js';
import { waitFor } from './helpers/wait.js';

const h = scheduleHarness(3);

describe('schedules after every master was down', () => {
  test('catch_up once after all three masters were down 5 s: one run for the missed tick; catch_up none: none', async () => {
    const once = path.join(h.work, 'catch-up-once');
    const none = path.join(h.work, 'catch-up-none');
    // a tick a few seconds ahead that recurs only a minute later: the one missed while down
    const tick = Math.ceil((Date.now() + 6000) / 1000) * 1000;
    const cron = `${new Date(tick).getUTCSeconds()} * * * * *`;
    // overlap skip: fired at the tick (an overlap allow run would be pre-enqueued 15 s ahead, so
    // accepted before the masters went down, and run late when one is back, whatever catch_up says)
    const created = await createSchedule(h.hosts[0]!, {
      name: 'catch-up-once',
      cron,
      catch_up: 'once',
      overlap: 'skip',
      ...recorder(once),
    });
    await createSchedule(h.hosts[0]!, { name: 'catch-up-none', cron, overlap: 'skip', ...recorder(none) });
    assert.equal(created.next_runs[0], new Date(tick).toISOString());
    for (const host of h.hosts) killHost(host);
    await Promise.all(h.hosts.map((host) => host.exited));
    assert.ok(Date.now() < tick, 'every master was down before the tick');
    // down 5 s, and past the tick by more than MISSED_AFTER_MS (3 s): the tick is missed, not late
    await sleep(Math.max(5000, tick + 3500 - Date.now()));
    // all three at once: one after the other outlasts the file's 120 s on a loaded machine
    h.hosts = await Promise.all([0, 1, 2].map(() => startMasters(h.redis.addr, 1, h.config).then(([host]) => host!)));
    const caughtUp = await waitFor('the catch-up run', () => runs(once)[0], 30_000);
    assert.equal(caughtUp.tick, tick);
    await sleep(3000);
    assert.equal(runs(once).length, 1);
    assert.equal(runs(none).length, 0);
    const { json } = await api(h.hosts[2]!.baseUrl, 'GET', '/schedules');
    for (const name of ['catch-up-once', 'catch-up-none']) {
      const listed = (json.data as { name: string; next_runs: string[] }[]).find((s) => s.name === name)!;
      assert.equal(listed.next_runs[0], new Date(tick + 60_000).toISOString());
    }
  });
});
