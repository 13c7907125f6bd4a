import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { CoyotesClient } from '@coyotes/cli';
import { startCoyotes } from './helpers/coyotes.js';
import { logFileRecords } from './helpers/logs.js';
import { coyotesEnv, supervisordConfig } from './helpers/process-managers.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const PM2 = path.join(ROOT, 'node_modules/.bin/pm2');

/** A command that outlives the stop request by a few seconds, then prints what it inherited from pm2. */
const LONG_COMMAND = [
  'sh',
  '-c',
  'sleep 4; env | cut -d= -f1 | grep -E "^(pm_|PM2_|NODE_APP_INSTANCE$|name$|status$|treekill$|unique_id$)" ; echo finished',
];

/** Pushes the long command, waits until it runs, and answers its id. */
async function pushLongCommand(client: CoyotesClient): Promise<string> {
  const { taskId } = await client.push({ channel: 'default', command: LONG_COMMAND[0]!, args: LONG_COMMAND.slice(1) });
  await waitFor('the long command to run', async () => (await client.task(taskId)).status === 'running', 15_000);
  return taskId;
}

/** Reads the recorded result through a fresh API-only server on the same Redis. */
async function recordedTask(redis: TestRedis, id: string) {
  const reader = await startCoyotes({ redisAddr: redis.addr, args: ['-task-mode=false'] });
  try {
    return await new CoyotesClient({ addr: reader.httpAddr }).task(id);
  } finally {
    await reader.stop('SIGTERM');
  }
}

describe('pm2: the shipped ecosystem.config.js lets pm2 stop drain', () => {
  let redis: TestRedis;
  const pm2Home = mkdtempSync(path.join(tmpdir(), 'coyotes-pm2-'));
  let pm2Env: NodeJS.ProcessEnv;

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await run(PM2, ['kill'], { env: pm2Env ?? { ...process.env, PM2_HOME: pm2Home } }).catch(() => undefined);
    rmSync(pm2Home, { recursive: true, force: true });
    await redis?.stop();
  });

  test('pm2 stop: the running command completes, its result is recorded, pm2 variables never reach it', async () => {
    const { env, addr } = await coyotesEnv(redis, pm2Home);
    pm2Env = { ...process.env, ...env, PM2_HOME: pm2Home };
    await run(PM2, ['start', 'ecosystem.config.js'], { cwd: ROOT, env: pm2Env });
    const client = new CoyotesClient({ addr });
    await waitFor(
      'coyotes under pm2 to answer',
      async () => (await fetch(`${client.baseUrl}/health`).catch(() => null))?.status === 200,
      20_000,
    );

    const [app] = JSON.parse((await run(PM2, ['jlist'], { env: pm2Env })).stdout) as { pm2_env: Record<string, unknown> }[];
    assert.equal(app!.pm2_env.treekill, false);
    assert.equal(app!.pm2_env.exec_mode, 'fork_mode');
    // pm2 stores a one-element list as the number itself
    assert.deepEqual([app!.pm2_env.stop_exit_codes].flat(), [2]);

    const id = await pushLongCommand(client);
    // returns once coyotes has exited: after the drain, well inside kill_timeout
    await run(PM2, ['stop', 'coyotes'], { env: pm2Env });
    const [stopped] = JSON.parse((await run(PM2, ['jlist'], { env: pm2Env })).stdout) as { pm2_env: Record<string, unknown> }[];
    assert.equal(stopped!.pm2_env.status, 'stopped');

    const task = await recordedTask(redis, id);
    assert.equal(task.status, 'succeeded');
    assert.equal(task.result?.outcome, 'exited');
    assert.equal(task.result?.exit_code, 0);
    // only "finished": none of pm2's variables was inherited by the command
    assert.equal(task.result?.stdout_tail, 'finished\n');
    const out = readFileSync(path.join(pm2Home, 'logs', 'coyotes-out-0.log'), 'utf8');
    assert.match(out, /"msg":"coyotes stopped"/);
  });

  test('a fatal configuration error (exit 2) stops the app instead of restart-looping', async () => {
    const env = { ...pm2Env, COYOTES_CONCURRENT: 'many' };
    await run(PM2, ['delete', 'coyotes'], { env });
    await run(PM2, ['start', 'ecosystem.config.js'], { cwd: ROOT, env });
    const coyotesApp = async () =>
      (JSON.parse((await run(PM2, ['jlist'], { env })).stdout) as { name: string; pm2_env: Record<string, unknown> }[]).find(
        (a) => a.name === 'coyotes',
      );
    await waitFor('pm2 to record the exit', async () => (await coyotesApp())?.pm2_env.exit_code === 2, 15_000);
    const app = await coyotesApp();
    assert.equal(app?.pm2_env.status, 'stopped');
    assert.equal(app?.pm2_env.restart_time, 0);
    const errors = readFileSync(path.join(pm2Home, 'logs', 'coyotes-error-0.log'), 'utf8');
    assert.match(errors, /COYOTES_CONCURRENT must be a non-negative integer, got "many"/);
  });
});

describe('supervisord: the shipped supervisor.conf lets supervisorctl stop drain', () => {
  let redis: TestRedis;
  let supervisord: ChildProcess | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-supervisord-'));
  const conf = path.join(dir, 'supervisord.conf');

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    if (supervisord && supervisord.exitCode === null) {
      const exited = new Promise((resolve) => supervisord!.once('exit', resolve));
      supervisord.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
    await redis?.stop();
  });

  test('supervisorctl stop: the running command completes and its result is recorded', async () => {
    const { env, addr } = await coyotesEnv(redis, dir);
    writeFileSync(conf, supervisordConfig(dir, env));
    supervisord = spawn('supervisord', ['-c', conf], { stdio: 'ignore' });
    const client = new CoyotesClient({ addr });
    await waitFor(
      'coyotes under supervisord to answer',
      async () => (await fetch(`${client.baseUrl}/health`).catch(() => null))?.status === 200,
      20_000,
    );

    const id = await pushLongCommand(client);
    // supervisorctl stop returns once coyotes has exited (or stopwaitsecs ran out: it did not)
    const { stdout } = await run('supervisorctl', ['-c', conf, 'stop', 'coyotes']);
    assert.match(stdout, /coyotes: stopped/);

    const task = await recordedTask(redis, id);
    assert.equal(task.status, 'succeeded');
    assert.equal(task.result?.exit_code, 0);
    assert.equal(task.result?.stdout_tail, 'finished\n');
    assert.ok(logFileRecords(path.join(dir, 'coyotes.log')).some((record) => record.event === 'stopped'));
  });
});
