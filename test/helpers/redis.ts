import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { launchUntil } from './sql-server.js';

/** A real redis-server of the test's own, on a free loopback port. */
export interface TestRedis {
  port: number;
  host: string;
  /** "127.0.0.1:port", as -redis-host takes it. */
  addr: string;
  /** A plain client for assertions and producer-side pushes. */
  client: Redis;
  process: ChildProcess;
  stop(): Promise<void>;
  /** Stops and starts the server on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops the server process only (the client reconnects when it is back). */
  down(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  up(): Promise<void>;
  /** Starts it again on the same port with an empty dataset (its data directory wiped). */
  upEmpty(): Promise<void>;
}

export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-redis-'));
  const launch = (): Promise<ChildProcess> =>
    // its output is read by launchUntil, never the test file's stderr: a server left running would
    // otherwise hold the test runner's pipe
    launchUntil(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs],
      /Ready to accept connections/,
    );
  let child = await launch();
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return {
    port,
    host: '127.0.0.1',
    addr: `127.0.0.1:${port}`,
    client,
    get process() {
      return child;
    },
    async stop() {
      client.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill();
      child = await launch();
    },
    down: kill,
    async up() {
      child = await launch();
    },
    async upEmpty() {
      await kill();
      for (const file of readdirSync(dir)) rmSync(path.join(dir, file), { recursive: true, force: true });
      child = await launch();
    },
  };
}
