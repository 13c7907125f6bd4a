import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { CoyotesClient } from '@coyotes/cli';
import { hostProcesses, pidfileHolder } from './helpers/faults.js';
import { isAlive } from './helpers/processes.js';
import { coyotesEnv, supervisordConfig } from './helpers/process-managers.js';
import { startRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);

describe('supervisord: supervisorctl restart during a Redis outage (issue #24)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-supervisord-outage-'));
  const conf = path.join(dir, 'supervisord.conf');

  test('the restart completes without Redis; once Redis is back every held task runs and no process is orphaned', async () => {
    // an append-only file: what Redis held before the outage, it holds after
    const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    let supervisord: ChildProcess | undefined;
    try {
      const { env, addr } = await coyotesEnv(redis, dir);
      writeFileSync(conf, supervisordConfig(dir, env));
      supervisord = spawn('supervisord', ['-c', conf], { stdio: 'ignore' });
      const client = new CoyotesClient({ addr });
      await waitFor(
        'coyotes under supervisord to answer',
        async () => (await fetch(`${client.baseUrl}/health`).catch(() => null))?.status === 200,
        60_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${readFileSync(path.join(dir, 'coyotes.log'), 'utf8').slice(-2000)}`);
      });
      // five slots, eight tasks of two seconds: some run, some wait in Redis through the outage
      const ids: string[] = [];
      for (let i = 0; i < 8; i += 1) {
        const { taskId } = await client.push({ channel: 'default', command: 'sh', args: ['-c', `sleep 2; touch ${dir}/ran-${i}`] });
        ids.push(taskId);
      }
      await waitFor('commands to run', async () => (await client.task(ids[0]!)).status === 'running', 60_000);
      const before = hostProcesses(env.COYOTES_PIDFILE!);

      await redis.down();
      // returns once the old master has exited by itself (stopwaitsecs is 660 s) and the new one runs
      const { stdout } = await run('supervisorctl', ['-c', conf, 'restart', 'coyotes']);
      assert.match(stdout, /coyotes: stopped\s+coyotes: started/);
      await redis.up();

      for (let i = 0; i < 8; i += 1) await waitFor(`held task ${i} to run`, () => existsSync(`${dir}/ran-${i}`), 60_000);
      const after = path.join(dir, 'after');
      await waitFor(
        'a task pushed after the outage to run',
        async () => {
          await client.push({ channel: 'default', command: 'touch', args: [after] }).catch(() => undefined);
          return waitFor('its file', () => existsSync(after), 5_000).then(
            () => true,
            () => false,
          );
        },
        60_000,
      );
      assert.ok(
        before.every((p) => !isAlive(p.pid)),
        'every process of the old master is gone',
      );
      const master = pidfileHolder(env.COYOTES_PIDFILE!);
      const processes = hostProcesses(env.COYOTES_PIDFILE!, master);
      assert.deepEqual(
        processes.filter((p) => p.pid !== master && p.ppid !== master),
        [],
      );
      // master, api, default, biz, cron
      assert.equal(processes.length, 5, JSON.stringify(processes));
    } finally {
      if (supervisord && supervisord.exitCode === null) {
        const exited = new Promise((resolve) => supervisord!.once('exit', resolve));
        supervisord.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
      await redis.stop();
    }
  });
});
