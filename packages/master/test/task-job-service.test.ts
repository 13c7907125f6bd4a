import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Broker } from '@coyotes/broker';
import { newChannelConfig, resolveServerOptions } from '@coyotes/protocol';
import type { ChannelConfig } from '@coyotes/protocol';
import { TaskJobService } from '../src/task-job.js';
import { startRedis } from '../../../test/helpers/redis.js';
import type { TestRedis } from '../../../test/helpers/redis.js';
import { waitFor } from '../../../test/helpers/wait.js';

/** task-job's side of a master alone: a real Redis and broker, no master process. */
describe('task-job service', () => {
  let redis: TestRedis;
  let broker: Broker;
  let service: TaskJobService;
  const channels = new Map<string, ChannelConfig>([['default', newChannelConfig('default', 1, { paused: true })]]);
  const taskJob = {
    queue: 'queue_job_task',
    controlQueue: 'queue_job_task_control',
    logs: false,
    logsChannel: 'queue_job_task_logs',
    cmdDir: '/tmp',
  };

  before(async () => {
    redis = await startRedis();
    broker = Broker.connect(resolveServerOptions({ redis: { host: '127.0.0.1', port: redis.port, db: 0 }, keyPrefix: 'tj' }), {
      name: 'test',
    });
    service = new TaskJobService({
      broker,
      nodeId: 'node-1',
      taskJob,
      channelDefault: 'default',
      channel: (name) => channels.get(name),
      log: pino({ level: 'silent' }),
    });
    await service.start();
  });
  after(async () => {
    await service?.stop();
    await broker?.close();
    await redis?.stop();
  });

  test('a tube naming a channel this master has not heard of yet is read from Redis, not sent to the default channel', async () => {
    // created through another process a moment ago: in Redis, not yet in this master's map
    await broker.channels.put(newChannelConfig('fresh', 1, { paused: true }));
    await redis.client.rpush(
      taskJob.queue,
      JSON.stringify({ id: 'tube-fresh-1', type: 't', tube: 'fresh', task: { cmdline: 'run.sh', cmd_args: [] } }),
    );
    const landed = await waitFor('the task to land in a channel', async () => {
      for (const name of ['fresh', 'default']) {
        if ((await redis.client.lrange(broker.keys.channel(name).queued, 0, -1)).includes('tube-fresh-1')) return name;
      }
      return undefined;
    });
    assert.equal(landed, 'fresh');
    assert.equal((await broker.deadLetters.list(0, 10)).total, 0);
  });
});
