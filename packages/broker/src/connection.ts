import { Redis } from 'ioredis';
import type { RedisOptions as IORedisOptions } from 'ioredis';
import type { RedisOptions } from '@coyotes/protocol';
import { defineScripts } from './scripts.js';
import type { ScriptedRedis } from './scripts.js';

export interface ConnectionOptions {
  /** Connection name shown by CLIENT LIST. */
  name: string;
  /**
   * Fail commands after this many reconnect attempts instead of waiting for Redis.
   * null (the default) waits: results and leases are written when Redis returns.
   */
  maxRetriesPerRequest?: number | null;
  /** Called with each reconnect delay so the owner can log Redis trouble once, readably. */
  onRetry?: (attempt: number, delayMs: number) => void;
}

/** Opens a connection with reconnect backoff (capped at 5 s) and the Lua scripts registered. */
export function connectRedis(redis: RedisOptions, options: ConnectionOptions): ScriptedRedis {
  const config: IORedisOptions = {
    host: redis.host,
    port: redis.port,
    username: redis.username,
    password: redis.password,
    db: redis.db,
    // rediss://: TLS verified against the system CAs (and NODE_EXTRA_CA_CERTS)
    tls: redis.tls ? {} : undefined,
    connectionName: options.name,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? null,
    enableAutoPipelining: true,
    lazyConnect: false,
    retryStrategy: (attempt) => {
      const delayMs = Math.min(100 * 2 ** Math.min(attempt, 6), 5000);
      options.onRetry?.(attempt, delayMs);
      return delayMs;
    },
  };
  const connection = new Redis(config);
  // errors surface through the retry strategy and rejected commands; an unhandled 'error' would crash
  connection.on('error', () => undefined);
  return defineScripts(connection);
}

/** A second connection for blocking reads (BRPOP), which must never share the command connection. */
export function duplicateForBlocking(connection: ScriptedRedis): ScriptedRedis {
  const blocking = connection.duplicate({ enableAutoPipelining: false, maxRetriesPerRequest: null });
  blocking.on('error', () => undefined);
  return defineScripts(blocking);
}
