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
  test('catch_up once after all three masters were down 5 s: one run for the missed tick; catch_up none: none (overlap skip and allow)', async () => {
    const file = (name: string) => path.join(h.work, name);
    // a tick a few seconds ahead that recurs only a minute later: the one missed while down
    const tick = Math.ceil((Date.now() + 8000) / 1000) * 1000;
    const cron = `${new Date(tick).getUTCSeconds()} * * * * *`;
    // overlap skip is fired at the tick; overlap allow (the default) is pre-enqueued 15 s ahead, so
    // its run was accepted before the masters went down and is found overdue when one is back
    const names = ['once-skip', 'none-skip', 'once-allow', 'none-allow'];
    for (const name of names) {
      const created = await createSchedule(h.hosts[0]!, {
        name,
        cron,
        catch_up: name.startsWith('once') ? 'once' : 'none',
        overlap: name.endsWith('skip') ? 'skip' : 'allow',
        ...recorder(file(name)),
      });
      assert.equal(created.next_runs[0], new Date(tick).toISOString());
    }
    // the allow runs are armed (their next tick moved a minute on) before any master goes down
    await waitFor(
      'the overlap allow runs armed',
      async () => {
        const { json } = await api(h.hosts[0]!.baseUrl, 'GET', '/schedules');
        const listed = json.data as { name: string; next_runs: string[] }[];
        return ['once-allow', 'none-allow'].every(
          (name) => listed.find((s) => s.name === name)?.next_runs[0] === new Date(tick + 60_000).toISOString(),
        );
      },
      5000,
      50,
    );
    for (const host of h.hosts) killHost(host);
    await Promise.all(h.hosts.map((host) => host.exited));
    assert.ok(Date.now() < tick, 'every master was down before the tick');
    // down 5 s, and past the tick by more than MISSED_AFTER_MS (3 s): the tick is missed, not late
    await sleep(Math.max(5000, tick + 3500 - Date.now()));
    // all three at once: one after the other outlasts the file's 120 s on a loaded machine
    h.hosts = await Promise.all([0, 1, 2].map(() => startMasters(h.redis.addr, 1, h.config).then(([host]) => host!)));
    for (const name of ['once-skip', 'once-allow']) {
      const caughtUp = await waitFor(`the catch-up run of ${name}`, () => runs(file(name))[0], 30_000);
      assert.equal(caughtUp.tick, tick);
    }
    await sleep(3000);
    assert.deepEqual(
      names.map((name) => [name, runs(file(name)).length]),
      [
        ['once-skip', 1],
        ['none-skip', 0],
        ['once-allow', 1],
        ['none-allow', 0],
      ],
    );
    const { json } = await api(h.hosts[2]!.baseUrl, 'GET', '/schedules');
    for (const name of names) {
      const listed = (json.data as { name: string; next_runs: string[] }[]).find((s) => s.name === name)!;
      assert.equal(listed.next_runs[0], new Date(tick + 60_000).toISOString());
    }
  });
});
