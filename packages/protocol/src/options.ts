import { CoyotesError } from './errors.js';
import type { TaskJobOptions } from './task-job.js';

/** Where Redis is. */
export interface RedisOptions {
  host: string;
  port: number;
  password?: string;
  /** @defaultValue 0 */
  db: number;
  /** ACL user name (Redis 6+); the default user when absent. */
  username?: string;
  /** Connect over TLS (a `rediss://` URL); the certificate is verified against the system CAs. @defaultValue false */
  tls?: boolean;
  /** Sentinels that name the current primary (`-redis-sentinels`); host and port are then unused. */
  sentinels?: HostPort[];
  /** The primary's name as the sentinels monitor it (`-redis-sentinel-name`). @defaultValue 'mymaster' */
  sentinelName?: string;
  /** Seed nodes of a Redis Cluster (`-redis-cluster`); host and port are then unused, db must be 0. */
  cluster?: HostPort[];
}

/** One Redis server or sentinel address. */
export interface HostPort {
  host: string;
  port: number;
}

/** The unprivileged user commands run as (`--run-as`), resolved once at start. */
export interface RunAsUser {
  user: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * What starts commands: `auto` = the native helper (coyotes-spawner) when it was built, else
 * node:child_process; `node` forces the fallback; `native` refuses to start without the helper.
 */
export type SpawnerChoice = 'auto' | 'native' | 'node';

/** Every setting of a Coyotes server, resolved and frozen once at start. */
export interface ServerOptions {
  redis: RedisOptions;
  /** Prefix of every key Coyotes owns. @defaultValue 'coyotes' */
  keyPrefix: string;
  /** The seed's ingress list producers LPUSH to. @defaultValue 'task:prepare:queue' */
  prepareQueueKey: string;
  /** host:port of the HTTP API. @defaultValue '127.0.0.1:60001' */
  httpAddr: string;
  /** Bearer token required by every route but /health when set. */
  httpToken?: string;
  /** api processes sharing the HTTP listening socket. @defaultValue 1 */
  httpProcesses: number;
  /** @defaultValue '/tmp/coyotes.pid' */
  pidfile: string;
  /** Workers of the channels created on first start. @defaultValue 5 */
  concurrent: number;
  /** Channel of tasks that name none. @defaultValue 'default' */
  channelDefault: string;
  /** false: API and dispatch only, consume nothing. @defaultValue true */
  taskMode: boolean;
  /** Human-friendly colored log lines instead of JSON. @defaultValue false */
  colorfulTty: boolean;
  /** @defaultValue 'info' */
  logLevel: string;
  /** Append JSON log lines to this file instead of stdout. */
  logFile?: string;
  /** Run commands as this user instead of Coyotes' own (needs root). */
  runAs?: RunAsUser;
  /** How long a running task's lease lasts without renewal. @defaultValue 30000 */
  leaseMs: number;
  /** How long a drain may take before running commands are killed and requeued; 0 = no limit. @defaultValue 0 */
  shutdownTimeoutMs: number;
  /** Between SIGTERM and SIGKILL to a command's process group. @defaultValue 5000 */
  killGraceMs: number;
  /** Commands' working directories must lie inside this directory. @defaultValue '/tmp' */
  commandRoot: string;
  /** Runner crashes during one task before it is parked as poison. @defaultValue 3 */
  poisonLimit: number;
  /** Safety-net lifetime of a distinct marker. @defaultValue 86400000 */
  distinctTtlMs: number;
  /** Finished tasks kept per channel. @defaultValue 10000 */
  resultRetentionCount: number;
  /** Finished tasks older than this are dropped. @defaultValue 604800000 */
  resultRetentionAgeMs: number;
  /** Bytes of stdout and of stderr kept with a result. @defaultValue 4096 */
  outputTailBytes: number;
  /** Bytes of output lines one task's live log stream may hold; beyond, lines are dropped and counted. @defaultValue 1048576 */
  logStreamTaskBytes: number;
  /** Bytes of output lines a channel's tasks may stream per hour (all hosts together). @defaultValue 67108864 */
  logStreamChannelBytes: number;
  /** First retry delay; doubles with each retry. @defaultValue 1000 */
  retryBackoffMs: number;
  /** Largest HTTP body accepted. @defaultValue 1048576 */
  httpBodyLimitBytes: number;
  /** What starts commands. @defaultValue 'auto' */
  spawner: SpawnerChoice;
  /** task-job's queue, control queue and log records (its config.json keys); absent: off. */
  taskJob?: TaskJobOptions;
  /** Task history in SQL (`mysql://…` or `postgres://…`); off when absent. */
  historyUrl?: string;
  /** Days of runs the SQL history keeps. @defaultValue 90 */
  historyRetentionDays: number;
  /** Runs waiting in one channel's Redis outbox for SQL; beyond, new runs are dropped and counted. @defaultValue 100000 */
  historyOutboxMax: number;
  /** Where channel queues live: RabbitMQ (`amqp://…`, quorum queues); absent: Redis. */
  brokerUrl?: string;
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  redis: { host: '127.0.0.1', port: 6379, db: 0 },
  keyPrefix: 'coyotes',
  prepareQueueKey: 'task:prepare:queue',
  httpAddr: '127.0.0.1:60001',
  httpProcesses: 1,
  pidfile: '/tmp/coyotes.pid',
  concurrent: 5,
  channelDefault: 'default',
  taskMode: true,
  colorfulTty: false,
  logLevel: 'info',
  leaseMs: 30_000,
  shutdownTimeoutMs: 0,
  killGraceMs: 5_000,
  commandRoot: '/tmp',
  poisonLimit: 3,
  distinctTtlMs: 86_400_000,
  resultRetentionCount: 10_000,
  resultRetentionAgeMs: 604_800_000,
  outputTailBytes: 4096,
  logStreamTaskBytes: 1_048_576,
  logStreamChannelBytes: 67_108_864,
  retryBackoffMs: 1000,
  httpBodyLimitBytes: 1_048_576,
  spawner: 'auto',
  historyRetentionDays: 90,
  historyOutboxMax: 100_000,
};

/** Splits `host:port`, failing with the option's name when it is not one. */
export function parseHostPort(value: string, option: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !match[1] || port < 1 || port > 65535) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${option} must be host:port, got "${value}"`);
  }
  return { host: match[1], port };
}

/** More api processes than this would only compete with Redis and the commands for the cores. */
export const MAX_HTTP_PROCESSES = 64;

const INTEGER_OPTIONS = [
  'concurrent',
  'httpProcesses',
  'leaseMs',
  'shutdownTimeoutMs',
  'killGraceMs',
  'poisonLimit',
  'distinctTtlMs',
  'resultRetentionCount',
  'resultRetentionAgeMs',
  'outputTailBytes',
  'logStreamTaskBytes',
  'logStreamChannelBytes',
  'retryBackoffMs',
  'httpBodyLimitBytes',
  'historyRetentionDays',
  'historyOutboxMax',
] as const satisfies readonly (keyof ServerOptions)[];

/** Splits a comma-separated `host:port,…` list, failing with the option's name on a bad entry. */
export function parseHostPortList(value: string, option: string): HostPort[] {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${option} must list at least one host:port`);
  return entries.map((entry) => parseHostPort(entry, option));
}

/** One topology at a time: a single server, a sentinel-watched primary, or a cluster. */
function checkTopology(redis: RedisOptions): void {
  const sentinels = redis.sentinels?.length ?? 0;
  const cluster = redis.cluster?.length ?? 0;
  if (sentinels > 0 && cluster > 0) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', 'redis-sentinels and redis-cluster cannot both be set: choose one topology');
  }
  if (cluster > 0 && redis.db !== 0) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `redis-db must be 0 with redis-cluster (a cluster has one database), got ${redis.db}`);
  }
  if (redis.sentinelName !== undefined && !/^[^\s]{1,128}$/.test(redis.sentinelName)) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `redis-sentinel-name must be a name without spaces, got "${redis.sentinelName}"`);
  }
}

/** Spreads defaults over the given options once, validates, and freezes the result. */
export function resolveServerOptions(options: Partial<ServerOptions> = {}): Readonly<ServerOptions> {
  const resolved: ServerOptions = {
    ...DEFAULT_SERVER_OPTIONS,
    ...options,
    redis: { ...DEFAULT_SERVER_OPTIONS.redis, ...options.redis },
  };
  for (const name of INTEGER_OPTIONS) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${name} must be a non-negative integer, got ${String(value)}`);
    }
  }
  if (resolved.concurrent < 1) throw new CoyotesError('COY_ERR_CONFIG_INVALID', 'concurrent must be at least 1');
  if (resolved.httpProcesses < 1 || resolved.httpProcesses > MAX_HTTP_PROCESSES) {
    throw new CoyotesError(
      'COY_ERR_CONFIG_INVALID',
      `http-processes must be between 1 and ${MAX_HTTP_PROCESSES}, got ${resolved.httpProcesses}`,
    );
  }
  if (resolved.leaseMs < 1000) throw new CoyotesError('COY_ERR_CONFIG_INVALID', 'leaseMs must be at least 1000');
  if (!Number.isSafeInteger(resolved.redis.db) || resolved.redis.db < 0) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `redis-db must be a non-negative integer, got ${resolved.redis.db}`);
  }
  parseHostPort(resolved.httpAddr, 'http-addr');
  if (resolved.historyUrl !== undefined && !/^(mysql|mariadb|postgres|postgresql):\/\/[^/]/.test(resolved.historyUrl)) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', 'history-url must be a mysql://… or postgres://… URL');
  }
  if (resolved.brokerUrl !== undefined && !isAmqpUrl(resolved.brokerUrl)) {
    throw new CoyotesError(
      'COY_ERR_CONFIG_INVALID',
      `broker-url must be an amqp://user:password@host:port/vhost URL, got "${redactUrl(resolved.brokerUrl)}"`,
    );
  }
  checkTopology(resolved.redis);
  if (!resolved.commandRoot.startsWith('/')) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `command-root must be an absolute path, got "${resolved.commandRoot}"`);
  }
  return Object.freeze({ ...resolved, redis: Object.freeze(resolved.redis) });
}

/** Whether `url` is an AMQP URL with a host (what -broker-url takes). */
function isAmqpUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'amqp:' || parsed.protocol === 'amqps:') && parsed.hostname !== '';
  } catch {
    return false;
  }
}

/** A URL as logs and errors may show it: its password replaced. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}
