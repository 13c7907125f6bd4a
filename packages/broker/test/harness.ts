import { after, before } from 'node:test';
import { Cluster } from 'ioredis';
import { resolveServerOptions } from '@coyotes/protocol';
import type { RedisOptions, ServerOptions, TaskResult, TaskSpec } from '@coyotes/protocol';
import { Broker, newTaskId } from '../src/index.js';
import { connectRedis } from '../src/connection.js';
import type { ScriptedRedis } from '../src/scripts.js';
import { startCluster } from '../../../test/helpers/cluster.js';
import { startRedis } from '../../../test/helpers/redis.js';

/**
 * Which Redis the broker tests run against: `COYOTES_TEST_TOPOLOGY=cluster` starts a
 * three-primary Redis Cluster of the file's own instead of one redis-server.
 */
export const TOPOLOGY = process.env.COYOTES_TEST_TOPOLOGY === 'cluster' ? 'cluster' : 'single';

/**
 * A real Redis (one server, or a cluster) for the test file, a broker factory with its own key
 * prefix per test, and a connection of the test's own to look at (and tamper with) what the
 * broker wrote: the broker hands out none.
 */
export function brokerHarness(): {
  topology: typeof TOPOLOGY;
  broker: (options?: Partial<ServerOptions>) => Broker;
  readonly redis: ScriptedRedis;
} {
  let redis: RedisOptions;
  let inspect: ScriptedRedis | undefined;
  let stop: () => Promise<void>;
  const brokers: Broker[] = [];
  let n = 0;
  before(async () => {
    if (TOPOLOGY === 'cluster') {
      const cluster = await startCluster(3);
      const [first] = cluster.nodes;
      redis = { host: first!.host, port: first!.port, db: 0, cluster: cluster.nodes.map((node) => ({ host: node.host, port: node.port })) };
      stop = () => cluster.stop();
    } else {
      const server = await startRedis();
      redis = { host: '127.0.0.1', port: server.port, db: 0 };
      stop = () => server.stop();
    }
  });
  after(async () => {
    for (const broker of brokers) await broker.close();
    inspect?.disconnect();
    await stop();
  });
  return {
    topology: TOPOLOGY,
    get redis() {
      inspect ??= connectRedis(redis, { name: 'test' });
      return inspect;
    },
    broker: (options = {}) => {
      n += 1;
      const broker = Broker.connect(
        resolveServerOptions({
          redis,
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

/**
 * The Redis server holding `key` (in a cluster, the slot's primary), to count the commands it
 * processes: found once, so the lookup itself is not counted.
 */
export async function serverHolding(
  redis: ScriptedRedis,
  key: string,
): Promise<{ commandsProcessed(): Promise<number>; scriptCalls(): Promise<number> }> {
  let server: { info(section: string): Promise<string> } = redis;
  if (redis instanceof Cluster) {
    const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
    const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const [, , [host, port]] = ranges.find(([from, to]) => slot >= from && slot <= to)!;
    server = redis.nodes('master').find((node) => node.options.port === port && node.options.host === host)!;
  }
  return {
    commandsProcessed: async () => Number(/total_commands_processed:(\d+)/.exec(await server.info('stats'))![1]),
    // EVALSHA, or EVAL when the script was not cached yet
    scriptCalls: async () => {
      const stats = await server.info('commandstats');
      return ['evalsha', 'eval'].reduce((sum, name) => sum + Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0), 0);
    },
  };
}

export function spec(channel: string, name: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return { id: newTaskId(), channel, name, createdAt: Date.now(), source: 'http', ...extra };
}

/** The result of one execution that exited with `exitCode` (or ended with `outcome`), for completing claimed tasks. */
export function taskResult(exitCode: number, outcome: TaskResult['outcome'] = 'exited'): TaskResult {
  const now = Date.now();
  return {
    outcome,
    exitCode,
    signal: null,
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    host: 'h',
    nodeId: 'n',
    pid: 1,
    stdoutTail: 'out',
    stderrTail: '',
  };
}
