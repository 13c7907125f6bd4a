import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { hostProcesses, killInstallation } from './helpers/faults.js';
import { isAlive } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

// The scenario of issue #24 as an operator met it; test/faults.test.ts runs it among every pair of faults.
const work = mkdtempSync(path.join(tmpdir(), 'coyotes-outage-restart-'));

describe('a Redis outage plus a restart (issue #24)', () => {
  test('Redis shut down, master SIGTERM then SIGKILL, Redis back empty, restarted with the same pidfile: tasks run, no orphan', async () => {
    const redis = await startRedis();
    const started: RunningCoyotes[] = [];
    try {
      const first = await startCoyotes({ redisAddr: redis.addr });
      started.push(first);
      const port = Number(first.httpAddr.split(':')[1]);
      const before = path.join(work, 'before-outage');
      await api(first.baseUrl, 'POST', '/channels/default/tasks', { task: `touch ${before}` });
      await waitFor('a task before the outage', () => existsSync(before), 15_000);
      const orphans = hostProcesses(first.pidfile).filter((p) => p.pid !== first.pid);

      // redis-server runs without persistence here: a stop is `shutdown nosave`
      await redis.down();
      first.process.kill('SIGTERM');
      await sleep(2000);
      first.process.kill('SIGKILL');
      await redis.upEmpty();

      const second = await startCoyotes({ redisAddr: redis.addr, pidfile: first.pidfile, httpPort: port });
      started.push(second);
      const after = path.join(work, 'after-restart');
      const { status } = await api(second.baseUrl, 'POST', '/channels/default/tasks', { task: `touch ${after}` });
      assert.equal(status, 200);
      await waitFor('the task pushed after the restart to run', () => existsSync(after), 15_000);
      await waitFor('the first master’s processes to be gone', () => orphans.every((p) => !isAlive(p.pid)), 15_000);
      const processes = hostProcesses(second.pidfile);
      assert.deepEqual(
        processes.filter((p) => p.pid !== second.pid && p.ppid !== second.pid),
        [],
        'every Coyotes process of this pidfile is the new master’s child',
      );
      // master + api + default, biz, cron
      assert.equal(processes.length, 5, JSON.stringify(processes));
    } finally {
      for (const coyotes of started) killInstallation(coyotes.pidfile, coyotes.pid);
      await redis.stop();
    }
  });
});
