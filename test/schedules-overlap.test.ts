// Schedules' overlap policies (skip, replace) and the `coyotes schedules` verbs, on a real master.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { BIN, api } from './helpers/coyotes.js';
import { createChannel, createSchedule, recorder, runs, scheduleHarness } from './helpers/schedules.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);

const h = scheduleHarness(1);

describe('schedule overlap and CLI', () => {
  test('overlap skip: no tick starts a run while the previous one lasts', async () => {
    await createChannel(h.hosts[0]!, 'skip');
    const file = path.join(h.work, 'skip');
    const lock = path.join(h.work, 'skip-lock');
    const script = `mkdir ${lock} 2>/dev/null || echo overlap >> ${file}; echo "$COYOTES_SCHEDULE_TICK 0" >> ${file}; sleep 2.5; rmdir ${lock}`;
    await createSchedule(h.hosts[0]!, {
      name: 'skip',
      cron: '* * * * * *',
      channel: 'skip',
      overlap: 'skip',
      command: '/bin/sh',
      args: ['-c', script],
    });
    await waitFor('three runs', () => runs(file).length >= 3, 60_000);
    assert.equal((await api(h.hosts[0]!.baseUrl, 'DELETE', '/schedules/skip')).status, 200);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('overlap'), text);
    const ticks = runs(file).map((r) => r.tick);
    // each run lasts 2.5 s, so two of every three ticks found it lasting and were skipped
    for (let i = 1; i < ticks.length; i += 1) assert.ok(ticks[i]! - ticks[i - 1]! >= 3000, `ticks ${ticks.join(', ')}`);
  });

  test('overlap replace: each tick kills the previous run', async () => {
    await createChannel(h.hosts[0]!, 'replace');
    const file = path.join(h.work, 'replace');
    await createSchedule(h.hosts[0]!, {
      name: 'replace',
      cron: '*/2 * * * * *',
      channel: 'replace',
      overlap: 'replace',
      ...recorder(file, '; sleep 30; echo end >> ' + file),
    });
    await waitFor('three runs', () => runs(file).filter((r) => !Number.isNaN(r.tick)).length >= 3, 60_000);
    const failed = await waitFor(
      'two killed runs in the failed list',
      async () => {
        const { json } = await api(h.hosts[0]!.baseUrl, 'GET', '/channels/replace/failed-tasks');
        // the seed's shape: failed tasks by id
        const listed = Object.values(json.data as Record<string, { task_id: string }>);
        return listed.length >= 2 ? listed : undefined;
      },
      30_000,
    );
    const killed = await api(h.hosts[0]!.baseUrl, 'GET', `/tasks/${failed[0]!.task_id}`);
    assert.equal(killed.json.data.result.outcome, 'killed');
    assert.equal(killed.json.data.schedule, 'replace');
    const { json } = await api(h.hosts[0]!.baseUrl, 'GET', '/schedules/replace');
    assert.equal((await api(h.hosts[0]!.baseUrl, 'DELETE', '/schedules/replace')).status, 200);
    await api(h.hosts[0]!.baseUrl, 'DELETE', `/channels/replace/tasks/${json.data.last_run.task_id}`);
    assert.ok(!readFileSync(file, 'utf8').includes('end'), 'no replaced run finished');
  });

  test('the CLI adds, lists, pauses, resumes, runs now and removes a schedule', async () => {
    const env = { ...process.env, COYOTES_ADDR: h.hosts[0]!.httpAddr };
    const verb = async (...args: string[]) => (await run(process.execPath, [BIN, 'schedules', ...args], { env, timeout: 30_000 })).stdout;
    const file = path.join(h.work, 'cli');
    assert.match(
      await verb(
        'add',
        'cli',
        '0 0 1 1 *',
        '--tz',
        'Europe/Berlin',
        '--overlap',
        'skip',
        '--',
        '/bin/sh',
        '-c',
        `echo "$COYOTES_SCHEDULE_TICK 0" >> ${file}`,
      ),
      /added cli: next 20\d\d-12-31T23:00:00\.000Z/,
    );
    const listed = (await verb('ls')).split('\n').find((line) => line.startsWith('cli '))!;
    assert.match(listed, /^cli\s+0 0 1 1 \*\s+Europe\/Berlin\s+default/);
    // the command as `coyotes tasks` shows one: shell-quoted, cut to one short line
    const quoted = `/bin/sh -c 'echo "$COYOTES_SCHEDULE_TICK 0" >> ${file}'`;
    assert.ok(quoted.length > 60 && listed.endsWith(` ${quoted.slice(0, 59)}…`), listed);
    assert.match(await verb('pause', 'cli'), /cli: paused/);
    assert.match(await verb('ls'), /cli .* paused/);
    assert.match(await verb('resume', 'cli'), /cli: resumed, next 20\d\d-12-31T23:00:00\.000Z/);
    assert.match(await verb('run-now', 'cli'), /cli: queued \w+/);
    await waitFor('the run-now run', () => runs(file).length === 1, 30_000);
    assert.match(await verb('rm', 'cli'), /deleted cli/);
    assert.doesNotMatch(await verb('ls'), /^cli /m);
  });
});
