import { after, before } from 'node:test';
import { resolveServerOptions } from '@coyotes/protocol';
import type { ServerOptions, TaskSpec } from '@coyotes/protocol';
import { Broker, newTaskId } from '../src/index.js';
import { startRedis } from '../../../test/helpers/redis.js';
import type { TestRedis } from '../../../test/helpers/redis.js';

/** A real redis-server for the test file and a broker factory with its own key prefix per test. */
export function brokerHarness(): { redis: () => TestRedis; broker: (options?: Partial<ServerOptions>) => Broker } {
  let redis: TestRedis;
  const brokers: Broker[] = [];
  let n = 0;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const broker of brokers) await broker.close();
    await redis.stop();
  });
  return {
    redis: () => redis,
    broker: (options = {}) => {
      n += 1;
      const broker = Broker.connect(
        resolveServerOptions({
          redis: { host: '127.0.0.1', port: redis.port, db: 0 },
          keyPrefix: `t${n}`,
          prepareQueueKey: `t${n}:prepare`,
          ...options,
        }),
        { name: 'test' },
      );
      brokers.push(broker);
      return broker;
    },
  };
}

export function spec(channel: string, name: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return { id: newTaskId(), channel, name, createdAt: Date.now(), source: 'http', ...extra };
}
