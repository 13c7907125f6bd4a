import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { freePort } from './ports.js';
import { startRedis } from './redis.js';
import type { TestRedis } from './redis.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** A Redis Cluster of the test's own: primaries on loopback ports, no replicas. */
export interface TestCluster {
  nodes: TestRedis[];
  /** "127.0.0.1:p1,127.0.0.1:p2,…", as -redis-cluster takes it. */
  seeds: string;
  /** A cluster client for assertions and producer-side pushes. */
  client: Cluster;
  /** The primary that owns `key`'s slot. */
  nodeOf(key: string): Promise<TestRedis>;
  stop(): Promise<void>;
}

/** Starts `size` cluster-enabled redis-servers and joins them with `redis-cli --cluster create`. */
export async function startCluster(size = 3): Promise<TestCluster> {
  const nodes: TestRedis[] = [];
  try {
    for (let i = 0; i < size; i += 1) {
      // the bus port is set explicitly: port + 10000 may not exist for a high ephemeral port
      const busPort = await freePort();
      nodes.push(
        await startRedis([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
          '--cluster-port',
          String(busPort),
        ]),
      );
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => n.addr), '--cluster-replicas', '0', '--cluster-yes']);
    await waitFor(
      'every node to see the cluster ok',
      async () => {
        for (const node of nodes) {
          const info = (await node.client.call('CLUSTER', 'INFO')) as string;
          if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${size}`)) return false;
        }
        return true;
      },
      15_000,
    );
  } catch (error) {
    for (const node of nodes) await node.stop();
    throw error;
  }
  const client = new Cluster(
    nodes.map((n) => ({ host: n.host, port: n.port })),
    { redisOptions: { maxRetriesPerRequest: null } },
  );
  client.on('error', () => undefined);
  return {
    nodes,
    seeds: nodes.map((n) => n.addr).join(','),
    client,
    async nodeOf(key) {
      const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
      const ranges = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const owner = ranges.find(([from, to]) => slot >= from && slot <= to)!;
      return nodes.find((n) => n.port === owner[2][1])!;
    },
    async stop() {
      client.disconnect();
      for (const node of nodes) await node.stop();
    },
  };
}
