import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Broker, ChannelCache } from '@coyotes/broker';
import type { BrokerEvent } from '@coyotes/broker';
import { resolveServerOptions } from '@coyotes/protocol';
import type { ServerOptions } from '@coyotes/protocol';
import { createApp } from '../src/index.js';
import { startRedis } from '../../../test/helpers/redis.js';
import type { TestRedis } from '../../../test/helpers/redis.js';

export interface AppInProcess {
  redis: TestRedis;
  broker: Broker;
  /** Every event published on the broker's events channel since the start, in order. */
  events: BrokerEvent[];
  /** `http://127.0.0.1:<port>` of the app. */
  base: string;
  close(): Promise<void>;
}

/**
 * The api's routes in process (Koa's own tests drive `app.callback()` the same way): a real
 * redis-server and broker, an HTTP server on a free loopback port, no binary and no master.
 */
export async function appInProcess(settings: {
  options: Partial<ServerOptions>;
  log: Logger;
  nodeId?: string;
  clock?: () => number;
}): Promise<AppInProcess> {
  const redis = await startRedis();
  const options = resolveServerOptions({ ...settings.options, redis: { host: '127.0.0.1', port: redis.port, db: 0 } });
  const broker = Broker.connect(options, { name: 'test' });
  const channels = new ChannelCache(broker);
  const app = createApp({
    broker,
    channels,
    nodeId: settings.nodeId ?? 'in-process',
    clock: settings.clock ?? Date.now,
    options,
    log: settings.log,
  });
  const subscriber = await broker.subscribe();
  const events: BrokerEvent[] = [];
  subscriber.on('event', (event) => events.push(event));
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    redis,
    broker,
    events,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await subscriber.close();
      await channels.close();
      await broker.close();
      await redis.stop();
    },
  };
}
