import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { launchUntil } from './sql-server.js';
import { startRedis } from './redis.js';
import type { TestRedis } from './redis.js';
import { waitFor } from './wait.js';

export const SENTINEL_NAME = 'mymaster';

/** A primary, its replica and three sentinels watching them, all on loopback ports. */
export interface TestSentinels {
  primary: TestRedis;
  replica: TestRedis;
  /** "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3", as -redis-sentinels takes it. */
  sentinels: string;
  /** A client that follows the primary the sentinels name. */
  client: Redis;
  /** host:port of the primary the sentinels name now. */
  currentPrimary(): Promise<string>;
  stop(): Promise<void>;
}

interface SentinelProcess {
  port: number;
  process: ChildProcess;
  dir: string;
}

/** Debian ships redis-sentinel as a link to redis-server; `redis-server --sentinel` is the same program. */
function sentinelCommand(conf: string): [string, string[]] {
  return existsSync('/usr/bin/redis-sentinel') ? ['redis-sentinel', [conf]] : ['redis-server', [conf, '--sentinel']];
}

async function startSentinel(primaryPort: number): Promise<SentinelProcess> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-sentinel-'));
  const conf = path.join(dir, 'sentinel.conf');
  // quick detection (1 s) and failover so the test stays short; quorum 2 of 3
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${SENTINEL_NAME} 1000`,
      `sentinel failover-timeout ${SENTINEL_NAME} 5000`,
      `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
      '',
    ].join('\n'),
  );
  const [command, args] = sentinelCommand(conf);
  const child = await launchUntil(command, args, /\+monitor master/);
  return { port, process: child, dir };
}

/** Starts the primary, a replica in sync with it, and three sentinels that know both and each other. */
export async function startSentinels(): Promise<TestSentinels> {
  const primary = await startRedis();
  const replica = await startRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
  const sentinels: SentinelProcess[] = [];
  for (let i = 0; i < 3; i += 1) sentinels.push(await startSentinel(primary.port));
  const admin = sentinels.map((s) => {
    const client = new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    return client;
  });
  await waitFor(
    'the replica in sync and every sentinel knowing it and the other sentinels',
    async () => {
      if (!(await replica.client.info('replication')).includes('master_link_status:up')) return false;
      for (const client of admin) {
        const replicas = (await client.call('SENTINEL', 'REPLICAS', SENTINEL_NAME)) as unknown[];
        const peers = (await client.call('SENTINEL', 'SENTINELS', SENTINEL_NAME)) as unknown[];
        if (replicas.length !== 1 || peers.length !== 2) return false;
      }
      return true;
    },
    30_000,
    100,
  );
  const addrs = sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  const client = new Redis({ sentinels: addrs, name: SENTINEL_NAME, maxRetriesPerRequest: null, role: 'master' });
  client.on('error', () => undefined);
  return {
    primary,
    replica,
    sentinels: addrs.map((a) => `${a.host}:${a.port}`).join(','),
    client,
    async currentPrimary() {
      for (const sentinel of admin) {
        try {
          const [host, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME)) as [string, string];
          return `${host}:${port}`;
        } catch {
          // ask the next one
        }
      }
      throw new Error('no sentinel answers');
    },
    async stop() {
      client.disconnect();
      for (const a of admin) a.disconnect();
      for (const s of sentinels) {
        if (s.process.exitCode === null && s.process.signalCode === null) {
          const exited = new Promise((resolve) => s.process.once('exit', resolve));
          s.process.kill('SIGTERM');
          await exited;
        }
        rmSync(s.dir, { recursive: true, force: true });
      }
      await replica.stop();
      await primary.stop();
    },
  };
}
