import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions as IORedisOptions } from 'ioredis';
import type { RedisOptions } from '@coyotes/protocol';
import { defineScripts } from './scripts.js';
import type { RedisClient, ScriptedRedis } from './scripts.js';

export interface ConnectionOptions {
  /** Connection name shown by CLIENT LIST. */
  name: string;
  /**
   * Fail commands after this many reconnect attempts instead of waiting for Redis.
   * null (the default) waits: results and leases are written when Redis returns.
   */
  maxRetriesPerRequest?: number | null;
  /**
   * The longest wait between reconnect attempts. With maxRetriesPerRequest, a command fails after
   * that many attempts: at the 5 s default a request made during an outage waited 10–15 s per
   * command (a push, 20 s) for its 503. @defaultValue 5000
   */
  maxReconnectDelayMs?: number;
  /** Called with each reconnect delay so the owner can log Redis trouble once, readably. */
  onRetry?: (attempt: number, delayMs: number) => void;
}

/** The sentinels' default name for the primary they watch. */
export const DEFAULT_SENTINEL_NAME = 'mymaster';

/** Where Redis is, in words for logs: one server, a sentinel-watched primary, or a cluster. */
export function describeRedis(redis: RedisOptions): string {
  const list = (nodes: { host: string; port: number }[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (redis.cluster?.length) return `cluster ${list(redis.cluster)}`;
  if (redis.sentinels?.length) return `sentinel ${redis.sentinelName ?? DEFAULT_SENTINEL_NAME}@${list(redis.sentinels)}`;
  return `${redis.host}:${redis.port}`;
}

const reconnectDelay = (attempt: number, capMs = 5000) => Math.min(100 * 2 ** Math.min(attempt, 6), capMs);

/**
 * Opens a connection with reconnect backoff (capped at 5 s) and the Lua scripts registered:
 * a plain connection, one that follows the primary the sentinels name (across failovers), or a
 * cluster client that routes each command to the slot's primary.
 */
export function connectRedis(redis: RedisOptions, options: ConnectionOptions): ScriptedRedis {
  const node: IORedisOptions = {
    username: redis.username,
    password: redis.password,
    // rediss://: TLS verified against the system CAs (and NODE_EXTRA_CA_CERTS)
    tls: redis.tls ? {} : undefined,
    connectionName: options.name,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? null,
    enableAutoPipelining: true,
    lazyConnect: false,
    retryStrategy: (attempt) => {
      const delayMs = reconnectDelay(attempt, options.maxReconnectDelayMs);
      options.onRetry?.(attempt, delayMs);
      return delayMs;
    },
  };
  let connection: RedisClient;
  if (redis.cluster?.length) {
    connection = new Cluster(redis.cluster, clusterOptions(node, options));
  } else if (redis.sentinels?.length) {
    connection = new Redis({
      ...node,
      db: redis.db,
      sentinels: redis.sentinels,
      name: redis.sentinelName ?? DEFAULT_SENTINEL_NAME,
      // a promoted replica is the primary: connect to role master only
      role: 'master',
      // hear +switch-master from the sentinels instead of waiting for the old primary's socket to die
      failoverDetector: true,
      sentinelRetryStrategy: (attempt) => reconnectDelay(attempt),
      sentinelTLS: redis.tls ? {} : undefined,
      enableTLSForSentinelMode: redis.tls === true,
    });
  } else {
    connection = new Redis({ ...node, host: redis.host, port: redis.port, db: redis.db });
  }
  // errors surface through the retry strategy and rejected commands; an unhandled 'error' would crash
  connection.on('error', () => undefined);
  return defineScripts(connection);
}

function clusterOptions(node: IORedisOptions, options: ConnectionOptions): ClusterOptions {
  const { retryStrategy: _nodeRetry, ...redisOptions } = node;
  return {
    redisOptions,
    enableAutoPipelining: true,
    // a slot moving (resharding, failover) is followed, not surfaced: commands are retried on the new owner
    maxRedirections: 32,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    clusterRetryStrategy: (attempt) => {
      const delayMs = reconnectDelay(attempt);
      options.onRetry?.(attempt, delayMs);
      return delayMs;
    },
  };
}

/** Another connection like `connection` (same topology, own sockets), with the scripts registered. */
function duplicateOf(connection: ScriptedRedis, overrides: Partial<IORedisOptions>): ScriptedRedis {
  let copy: RedisClient;
  if (connection instanceof Cluster) {
    copy = connection.duplicate(undefined, {
      enableAutoPipelining: overrides.enableAutoPipelining,
      redisOptions: { ...connection.options.redisOptions, ...overrides },
    });
  } else {
    copy = (connection as Redis).duplicate(overrides);
  }
  copy.on('error', () => undefined);
  return defineScripts(copy);
}

/** A second connection for blocking reads (BRPOP), which must never share the command connection. */
export function duplicateForBlocking(connection: ScriptedRedis): ScriptedRedis {
  return duplicateOf(connection, { enableAutoPipelining: false, maxRetriesPerRequest: null });
}

/** A connection for SUBSCRIBE, which can do nothing else; it resubscribes after reconnects and failovers. */
export function duplicateForSubscriber(connection: ScriptedRedis): ScriptedRedis {
  return duplicateOf(connection, { enableAutoPipelining: false });
}
