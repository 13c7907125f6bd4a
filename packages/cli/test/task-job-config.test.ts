import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { checkTaskJobCmdDir, fromTaskJobConfig } from '../src/task-job-config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-task-job-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a file without task-job keys is Coyotes settings only', () => {
  assert.deepEqual(fromTaskJobConfig({ concurrent: 3 }), { settings: { concurrent: 3 } });
});

test("task-job's defaults: queue_job_task, {queue}_control, {queue}_logs, logs on, /tmp", () => {
  const { settings, taskJob } = fromTaskJobConfig({ redis_addr: '10.0.0.5:6380', queue_name: '', server_port: '' });
  assert.deepEqual(taskJob, {
    queue: 'queue_job_task',
    controlQueue: 'queue_job_task_control',
    logs: true,
    logsChannel: 'queue_job_task_logs',
    cmdDir: '/tmp',
  });
  assert.deepEqual(settings, { 'redis-host': '10.0.0.5:6380', 'command-root': '/tmp' });
});

test('queue_name names the other lists; server_port is the HTTP port; cmd_dir is the command root unless one is set', () => {
  const { settings, taskJob } = fromTaskJobConfig({
    queue_name: 'jobs',
    server_port: 9527,
    logs: false,
    logs_http: 'http://logs.local/in',
    cmd_dir: dir,
  });
  assert.equal(taskJob?.controlQueue, 'jobs_control');
  assert.equal(taskJob?.logsChannel, 'jobs_logs');
  assert.equal(taskJob?.logs, false);
  assert.equal(taskJob?.logsHttp, 'http://logs.local/in');
  assert.equal(settings['http-addr'], '127.0.0.1:9527');
  assert.equal(settings['command-root'], dir);
  assert.equal(fromTaskJobConfig({ cmd_dir: dir, 'command-root': '/' }).settings['command-root'], '/');
});

test('redis_addr: one server, sentinels (a list, or sentinel:// with the primary name), or a redis:// URL', () => {
  const redis = (addr: string) => {
    const { settings } = fromTaskJobConfig({ redis_addr: addr });
    delete settings['command-root'];
    return settings;
  };
  assert.deepEqual(redis('127.0.0.1:6379'), { 'redis-host': '127.0.0.1:6379' });
  assert.deepEqual(redis('10.0.0.1:26379,10.0.0.2:26379'), { 'redis-sentinels': '10.0.0.1:26379,10.0.0.2:26379' });
  assert.deepEqual(redis('sentinel://10.0.0.1:26379/jobs-primary'), {
    'redis-sentinels': '10.0.0.1:26379',
    'redis-sentinel-name': 'jobs-primary',
  });
  assert.deepEqual(redis('sentinel://10.0.0.1:26379,10.0.0.2:26379'), { 'redis-sentinels': '10.0.0.1:26379,10.0.0.2:26379' });
  assert.deepEqual(redis('redis://:secret@10.0.0.1:6379/2'), { 'redis-url': 'redis://:secret@10.0.0.1:6379/2' });
  assert.throws(() => redis('sentinel://'), /redis_addr must list at least one host:port/);
  assert.throws(() => fromTaskJobConfig({ redis_addr: '127.0.0.1:6379', 'redis-host': '127.0.0.1:6380' }), /redis_addr and redis-host/);
});

test('cmd_dir outside a -command-root given elsewhere is refused at start', () => {
  const { taskJob } = fromTaskJobConfig({ cmd_dir: dir });
  assert.doesNotThrow(() => checkTaskJobCmdDir(taskJob, tmpdir()));
  assert.throws(() => checkTaskJobCmdDir(taskJob, path.join(dir, 'inner')), /cmd_dir .* lies outside -command-root/);
});
