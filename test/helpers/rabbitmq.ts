import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as amqpConnect } from 'amqplib';
import type { ConfirmChannel } from 'amqplib';
import { api, startCoyotes } from './coyotes.js';
import type { RunningCoyotes } from './coyotes.js';
import { freePort } from './ports.js';
import { startRedis } from './redis.js';
import type { TestRedis } from './redis.js';
import { runTool } from './sql-server.js';
import { waitFor } from './wait.js';

/** Debian's package keeps the server's scripts out of PATH. */
const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

/** Whether Debian's rabbitmq-server is installed (scripts/bootstrap.sh test installs it). */
export const rabbitmqInstalled = (): boolean => existsSync(RABBITMQ_SERVER);

/** A private rabbitmq-server node of the test file's own. */
export interface TestRabbitMQ {
  port: number;
  /** `amqp://guest:guest@127.0.0.1:<port>`, as -broker-url takes it. */
  url: string;
  /** Stops the node (graceful: quorum queues keep what was confirmed). */
  down(): Promise<void>;
  /** Starts it again on the same ports and data directory. */
  up(): Promise<void>;
  /** The pid of its process group's leader (the wrapper; the Erlang VM is a descendant), while it runs. */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/** Whether something accepts TCP connections on the loopback port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts a rabbitmq-server node on free loopback ports: its own node name, data and log
 * directories, config file and Erlang cookie (HOME), run as the `rabbitmq` user (the package's
 * files belong to it). Starting takes seconds: one node per test file.
 */
export async function startRabbitMQ(options: { consumerTimeoutMs?: number } = {}): Promise<TestRabbitMQ> {
  const [port, distPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-rabbitmq-'));
  chmodSync(dir, 0o755);
  let conf = `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users = none\n`;
  // the server looks for held deliveries once per channel tick (60 s by default)
  let advanced = '[].\n';
  if (options.consumerTimeoutMs !== undefined) {
    conf += `consumer_timeout = ${options.consumerTimeoutMs}\n`;
    advanced = `[{rabbit, [{channel_tick_interval, ${Math.max(100, Math.floor(options.consumerTimeoutMs / 4))}}]}].\n`;
  }
  writeFileSync(path.join(dir, 'rabbitmq.conf'), conf);
  writeFileSync(path.join(dir, 'advanced.config'), advanced);
  writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  const uid = Number((await runTool('id', ['-u', 'rabbitmq'])).trim());
  const gid = Number((await runTool('id', ['-g', 'rabbitmq'])).trim());
  for (const file of ['', 'rabbitmq.conf', 'advanced.config', 'enabled_plugins']) chownSync(path.join(dir, file), uid, gid);
  const env = {
    HOME: dir,
    RABBITMQ_NODENAME: `coyotes-test-${port}@localhost`,
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: path.join(dir, 'pid'),
  };
  let child: ChildProcess | undefined;
  const up = async (): Promise<void> => {
    const envArgs = Object.entries(env).map(([name, value]) => `${name}=${value}`);
    // its own process group: a stop reaches the wrapper script and the Erlang VM together
    child = spawn('runuser', ['-u', 'rabbitmq', '--', 'env', ...envArgs, RABBITMQ_SERVER], { stdio: 'ignore', detached: true });
    const started = child;
    await waitFor(
      `rabbitmq-server accepting AMQP on port ${port} (logs in ${dir}/log)`,
      async () => started.exitCode !== null || (await accepts(port)),
      120_000,
      200,
    );
    if (started.exitCode !== null) throw new Error(`rabbitmq-server exited with ${started.exitCode} (logs in ${dir}/log)`);
  };
  const down = async (): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    process.kill(-running.pid!, 'SIGTERM');
    await exited;
    // the VM may outlive the wrapper a moment: the port is free once it is gone
    await waitFor('rabbitmq-server stopped', async () => !(await accepts(port)), 60_000, 100);
  };
  await up();
  return {
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    up,
    down,
    pid: () => child?.pid,
    async stop() {
      await down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The transport a shared behaviour test file runs against, chosen by COYOTES_TEST_TRANSPORT. */
export interface TestTransport {
  name: 'redis' | 'rabbitmq';
  /** Starts what the transport needs (a private RabbitMQ node for the whole file, on first use). */
  ready(): Promise<void>;
  /** The environment that selects it for every coyotes a test starts (COYOTES_BROKER_URL, or none). */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The transport of a shared behaviour test file: Redis (the default), or RabbitMQ when
 * COYOTES_TEST_TRANSPORT=rabbitmq — set by a second file that imports the first
 * (test/delivery-rabbitmq.test.ts), so one test runs against both without being written twice.
 */
export function testTransport(name = process.env.COYOTES_TEST_TRANSPORT ?? 'redis'): TestTransport {
  if (name === 'redis') return { name, ready: async () => undefined, env: () => ({}), stop: async () => undefined };
  if (name !== 'rabbitmq') throw new Error(`COYOTES_TEST_TRANSPORT must be redis or rabbitmq, got ${name}`);
  let node: TestRabbitMQ | undefined;
  return {
    name,
    async ready() {
      node ??= await startRabbitMQ();
    },
    env: () => ({ COYOTES_BROKER_URL: node!.url }),
    async stop() {
      await node?.stop();
    },
  };
}

/**
 * A fresh Redis and key prefix (so fresh queues) per test, and masters on `rabbit` started on
 * demand; everything started is SIGKILLed and stopped at the end.
 */
export async function withRabbitHosts(
  rabbit: TestRabbitMQ,
  body: (start: (env?: NodeJS.ProcessEnv) => Promise<RunningCoyotes>, prefix: string, redis: TestRedis) => Promise<void>,
): Promise<void> {
  const redis = await startRedis();
  const started: RunningCoyotes[] = [];
  const prefix = `r${Date.now().toString(36)}`;
  const start = async (env: NodeJS.ProcessEnv = {}): Promise<RunningCoyotes> => {
    const c = await startCoyotes({ redisAddr: redis.addr, args: ['-broker-url', rabbit.url, '-key-prefix', prefix], env });
    started.push(c);
    return c;
  };
  try {
    await body(start, prefix, redis);
  } finally {
    for (const c of started) await c.stop('SIGKILL');
    await redis.stop();
  }
}

/** Runs `body` on a confirm channel of its own on `rabbit`, closed afterwards. */
export async function withAmqp<T>(rabbit: TestRabbitMQ, body: (channel: ConfirmChannel) => Promise<T>): Promise<T> {
  const connection = await amqpConnect(rabbit.url);
  // a queue not there (yet) closes the channel with an error: checkQueue's rejection says it
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    const result = await body(channel);
    await channel.waitForConfirms();
    return result;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** A queue as RabbitMQ sees it: messages ready, consumers (-1 each while it does not exist). */
export const queueState = (rabbit: TestRabbitMQ, queue: string): Promise<{ messageCount: number; consumerCount: number }> =>
  withAmqp(rabbit, (channel) => channel.checkQueue(queue)).catch(() => ({ messageCount: -1, consumerCount: -1 }));

/** Waits until every task answers `succeeded` on the host's API. */
export async function allSucceeded(host: RunningCoyotes, ids: string[], timeoutMs = 60_000): Promise<void> {
  for (const id of ids) {
    await waitFor(
      `task ${id} to succeed`,
      async () => (await api(host.baseUrl, 'GET', `/tasks/${id}`)).json.data?.status === 'succeeded',
      timeoutMs,
      100,
    );
  }
}
