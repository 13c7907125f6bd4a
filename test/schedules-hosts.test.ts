// Schedules on three masters sharing one redis-server: each tick fires exactly once across the
// hosts (counted by what the command writes: the tick it was given), through a master's SIGKILL;
// pause, resume and delete reach every master at once; bad input stores nothing; the config file;
// the next fire times across a DST change.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { BIN, api } from './helpers/coyotes.js';
import { killHost } from './helpers/hosts.js';
import { keys } from './helpers/keys.js';
import { freePort } from './helpers/ports.js';
import { createChannel, createSchedule, recorder, runs, scheduleHarness } from './helpers/schedules.js';
import { waitFor } from './helpers/wait.js';

const h = scheduleHarness(3);

describe('schedules on three masters', () => {
  test('a bad cron expression or time zone is a 400 naming it, and nothing is stored', async () => {
    for (const [fields, named] of [
      [{ cron: '61 * * * *' }, 'cron "61 * * * *" is invalid'],
      [{ cron: '* * *' }, 'cron "* * *" has 3 fields'],
      [{ cron: '* * * * *', timezone: 'Mars/Olympus' }, 'timezone "Mars/Olympus"'],
      [{ cron: '* * * * *', overlap: 'sometimes' }, 'overlap must be one of allow, skip, replace'],
    ] as const) {
      const { status, json, code } = await api(h.hosts[0]!.baseUrl, 'POST', '/schedules', { name: 'bad', task: 'true', ...fields });
      assert.equal(status, 400);
      assert.equal(code, 'COY_ERR_SCHEDULE_INVALID');
      assert.ok(json.message.includes(named), json.message);
    }
    assert.equal((await api(h.hosts[1]!.baseUrl, 'GET', '/schedules/bad')).status, 404);
    // a rename through PATCH is refused, not ignored
    await createSchedule(h.hosts[0]!, { name: 'named', cron: '0 0 1 1 *', task: 'true', paused: 'true' });
    const renamed = await api(h.hosts[1]!.baseUrl, 'PATCH', '/schedules/named', { name: 'renamed', paused: 'false' });
    assert.equal(renamed.status, 400);
    assert.equal(renamed.code, 'COY_ERR_SCHEDULE_INVALID');
    assert.match(renamed.json.message, /^name cannot be changed \(schedule named\)/);
    assert.equal((await api(h.hosts[2]!.baseUrl, 'GET', '/schedules/named')).json.data.paused, true);
    assert.equal((await api(h.hosts[2]!.baseUrl, 'PATCH', '/schedules/named', { name: 'named', paused: 'false' })).status, 200);
    assert.equal((await api(h.hosts[2]!.baseUrl, 'DELETE', '/schedules/named')).status, 200);
  });

  test('a channel that schedules use is not deleted: 409 naming them; deleted once they are gone', async () => {
    await createChannel(h.hosts[0]!, 'scheduled');
    for (const name of ['uses-1', 'uses-2'])
      await createSchedule(h.hosts[0]!, { name, cron: '0 0 1 1 *', channel: 'scheduled', task: 'true' });
    const refused = await api(h.hosts[1]!.baseUrl, 'DELETE', '/channels/scheduled');
    assert.equal(refused.status, 409);
    assert.equal(refused.code, 'COY_ERR_CHANNEL_IN_USE');
    assert.equal(
      refused.json.message,
      'channel scheduled is used by schedules uses-1, uses-2: delete them or move them to another channel first',
    );
    assert.equal((await api(h.hosts[2]!.baseUrl, 'GET', '/channels/scheduled')).status, 200);
    for (const name of ['uses-1', 'uses-2']) assert.equal((await api(h.hosts[0]!.baseUrl, 'DELETE', `/schedules/${name}`)).status, 200);
    assert.equal((await api(h.hosts[1]!.baseUrl, 'DELETE', '/channels/scheduled')).status, 200);
  });

  test('a config file schedule POST /schedules would refuse refuses the start: one line, exit 2, nothing written, no pidfile', async () => {
    await createChannel(h.hosts[0]!, 'only-php');
    assert.equal((await api(h.hosts[0]!.baseUrl, 'PATCH', '/channels/only-php', { allowed_commands: ['php'] })).status, 200);
    for (const [schedule, line] of [
      [{ channel: 'nosuch', task: 'true' }, 'channel nosuch not found (create it with POST /channels first)'],
      [{ channel: 'only-php', task: 'rm -rf /tmp/x' }, 'command "rm" is not in the allowed_commands of channel only-php'],
      [{ channel: 'cron', task: 'a'.repeat(5000) }, 'task: program name longer than 255 bytes (NAME_MAX)'],
    ] as const) {
      const config = path.join(h.work, 'refused.json');
      // a valid schedule first: it is not written either
      const schedules = [
        { name: 'fine', cron: '0 3 * * *', channel: 'cron', task: 'true' },
        { name: 'refused', cron: '0 3 * * *', ...schedule },
      ];
      writeFileSync(config, JSON.stringify({ schedules }));
      const pidfile = path.join(h.work, 'refused.pid');
      const child = spawn(
        process.execPath,
        [BIN, '-redis-host', h.redis.addr, '-http-addr', `127.0.0.1:${await freePort()}`, '-pidfile', pidfile, '-config', config],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 2, stderr);
      assert.equal(stderr, `coyotes: config file: schedule refused: ${line}\n`);
      assert.equal(existsSync(pidfile), false);
      for (const name of ['fine', 'refused']) assert.equal((await api(h.hosts[1]!.baseUrl, 'GET', `/schedules/${name}`)).status, 404);
    }
  });

  test('the config file declares a schedule: applied at start, with its next fire times', async () => {
    const { json } = await api(h.hosts[2]!.baseUrl, 'GET', '/schedules/from-config');
    assert.equal(json.data.timezone, 'Europe/Berlin');
    assert.equal(json.data.next_runs.length, 5);
    // 03:00 in Berlin is 01:00 or 02:00 UTC, whichever DST says
    for (const next of json.data.next_runs as string[]) assert.match(next, /T0[12]:00:00\.000Z$/);
  });

  test('a DST change in Europe/Berlin: the missing 02:30 fires once at 03:00 CEST, the repeated one once at the first', async () => {
    // the last Sunday of March (clocks go 02:00 → 03:00) and of October (03:00 → 02:00), at 02:30
    await createSchedule(h.hosts[0]!, { name: 'spring', cron: '30 2 * 3 0L', timezone: 'Europe/Berlin', task: 'true spring' });
    await createSchedule(h.hosts[0]!, { name: 'autumn', cron: '30 2 * 10 0L', timezone: 'Europe/Berlin', task: 'true autumn' });
    for (const host of h.hosts) {
      const spring = (await api(host.baseUrl, 'GET', '/schedules/spring')).json.data.next_runs as string[];
      const autumn = (await api(host.baseUrl, 'GET', '/schedules/autumn')).json.data.next_runs as string[];
      assert.equal(spring.length, 5);
      assert.equal(autumn.length, 5);
      // 02:30 does not exist that night: the first instant after the gap, 03:00 CEST = 01:00 UTC
      for (const next of spring) assert.match(next, /^\d{4}-03-(2[5-9]|3[01])T01:00:00\.000Z$/);
      // 02:30 occurs twice: once, at the first (CEST, 00:30 UTC), never again at 02:30 CET (01:30 UTC)
      for (const next of autumn) assert.match(next, /^\d{4}-10-(2[5-9]|3[01])T00:30:00\.000Z$/);
      for (const next of [...spring, ...autumn]) assert.equal(new Date(next).getUTCDay(), 0, `${next} is a Sunday`);
      // a year apart each: no tick doubled by the repeated hour
      assert.equal(new Set(autumn.map((next) => next.slice(0, 4))).size, 5);
    }
    for (const name of ['spring', 'autumn']) assert.equal((await api(h.hosts[1]!.baseUrl, 'DELETE', `/schedules/${name}`)).status, 200);
  });

  test('pause, resume and delete through any host take effect on every master at once', async () => {
    await createChannel(h.hosts[0]!, 'pausing');
    const file = path.join(h.work, 'pausing');
    await createSchedule(h.hosts[0]!, { name: 'pausing', cron: '* * * * * *', channel: 'pausing', ...recorder(file) });
    await waitFor('two runs', () => runs(file).length >= 2, 30_000);
    assert.equal((await api(h.hosts[1]!.baseUrl, 'PATCH', '/schedules/pausing', { paused: 'true' })).status, 200);
    const pausedAt = Date.now();
    for (const host of h.hosts) assert.deepEqual((await api(host.baseUrl, 'GET', '/schedules/pausing')).json.data.next_runs, []);
    await sleep(2500);
    // no master fired a tick after the pause was answered
    assert.ok(Math.max(...runs(file).map((r) => r.tick)) <= pausedAt);
    const before = runs(file).length;
    assert.equal((await api(h.hosts[2]!.baseUrl, 'PATCH', '/schedules/pausing', { paused: 'false' })).status, 200);
    const resumedAt = Date.now();
    const resumed = await waitFor('a run after the resume', () => runs(file).slice(before)[0], 30_000);
    // the first tick after the resume fired: the masters heard of it at once (over pub/sub)
    assert.ok(resumed.tick > resumedAt - 1000 && resumed.tick <= resumedAt + 1000, `tick ${resumed.tick - resumedAt} ms after the resume`);
    assert.equal((await api(h.hosts[0]!.baseUrl, 'DELETE', '/schedules/pausing')).status, 200);
    const deletedAt = Date.now();
    await sleep(2500);
    assert.ok(Math.max(...runs(file).map((r) => r.tick)) <= deletedAt);
    for (const host of h.hosts) assert.equal((await api(host.baseUrl, 'GET', '/schedules/pausing')).status, 404);
  });

  test('an every-second schedule fires once per tick for 10 s across three masters, one SIGKILLed in the middle', async (t) => {
    await createChannel(h.hosts[0]!, 'every-second');
    const file = path.join(h.work, 'every-second');
    await createSchedule(h.hosts[0]!, { name: 'every-second', cron: '* * * * * *', channel: 'every-second', ...recorder(file) });
    await waitFor('the first run', () => runs(file).length > 0, 30_000);
    await waitFor('5 s of ticks', () => runs(file).length >= 5, 30_000);
    killHost(h.hosts[2]!);
    await h.hosts[2]!.exited;
    h.hosts = h.hosts.slice(0, 2);
    await waitFor('11 distinct ticks', () => new Set(runs(file).map((r) => r.tick)).size >= 11, 60_000);
    const paused = await api(h.hosts[0]!.baseUrl, 'PATCH', '/schedules/every-second', { paused: 'true' });
    assert.equal(paused.status, 200);
    await sleep(2500); // a run accepted before the pause may still be on its way
    const all = runs(file);
    const ticks = [...new Set(all.map((r) => r.tick))].sort((a, b) => a - b);
    // none lost: every second from the first tick to the last has its run
    for (let i = 1; i < ticks.length; i += 1) assert.equal(ticks[i]! - ticks[i - 1]!, 1000, `ticks ${ticks.join(', ')}`);
    // none doubled: each tick was accepted once (a command killed with its host may rerun, at least once)
    const accepted = Number(await h.redis.client.hget(keys.channel('every-second').stats, 'accepted'));
    assert.equal(accepted, ticks.length);
    assert.ok(all.length - ticks.length <= 1, `${all.length} lines for ${ticks.length} ticks`);
    const lateness = all.map((r) => r.ranAt - r.tick).sort((a, b) => a - b);
    t.diagnostic(`command start after its tick (ms): p50 ${lateness[Math.floor(lateness.length / 2)]}, max ${lateness.at(-1)}`);
    // each run is an ordinary task carrying its schedule's name
    const { json } = await api(h.hosts[1]!.baseUrl, 'GET', '/schedules/every-second');
    const last = json.data.last_run as { task_id: string; status: string };
    assert.equal(last.status, 'succeeded');
    const task = await api(h.hosts[1]!.baseUrl, 'GET', `/tasks/${last.task_id}`);
    assert.equal(task.json.data.schedule, 'every-second');
    assert.equal((await api(h.hosts[0]!.baseUrl, 'DELETE', '/schedules/every-second')).status, 200);
  });
});
