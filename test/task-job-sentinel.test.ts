// task-job's redis_addr naming Redis Sentinel: Coyotes asks the sentinels for the primary and
// consumes task-job's queue there (the single-server form is driven in task-job.test.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { SENTINEL_NAME, startSentinels } from './helpers/sentinel.js';
import type { TestSentinels } from './helpers/sentinel.js';
import { stopLeavingNothing } from './helpers/stop.js';
import { waitFor } from './helpers/wait.js';

let sentinels: TestSentinels;
let coyotes: RunningCoyotes | undefined;
let dir: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'coyotes-task-job-sentinel-'));
  writeFileSync(path.join(dir, 'hello.sh'), 'echo "hello $1"\n');
  sentinels = await startSentinels();
});

after(async () => {
  if (coyotes) await stopLeavingNothing(coyotes);
  await sentinels.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('redis_addr "sentinel://host:port,…/name": the task is taken from the primary the sentinels name', async () => {
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ redis_addr: `sentinel://${sentinels.sentinels}/${SENTINEL_NAME}`, logs: true, cmd_dir: dir }));
  // -redis-host is set by the harness and left unused: the sentinels name the primary
  coyotes = await startCoyotes({ redisAddr: '127.0.0.1:1', args: ['-config', config] });
  await sentinels.client.rpush(
    'queue_job_task',
    JSON.stringify({ id: 's-1', type: 'x', task: { cmdline: 'hello.sh', cmd_args: ['sentinel'] } }),
  );
  const records = await waitFor(
    'the done record',
    async () => {
      const list = (await sentinels.client.lrange('queue_job_task_logs', 0, -1)).map(
        (raw) => JSON.parse(raw) as { msg_type: string; data: string },
      );
      return list.some((r) => r.msg_type === 'done') ? list : undefined;
    },
    60_000,
    100,
  );
  assert.deepEqual(
    records.map((r) => [r.msg_type, r.data]),
    [
      ['stdout', 'hello sentinel'],
      ['done', 'exit 0'],
    ],
  );
  assert.equal((await api(coyotes.baseUrl, 'GET', '/tasks/s-1')).json.data.status, 'succeeded');
  assert.match(String(coyotes.logs().find((l) => l.event === 'started')?.redis), new RegExp(`^sentinel ${SENTINEL_NAME}@`));
});
