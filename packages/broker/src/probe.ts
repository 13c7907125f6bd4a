import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import type { RedisOptions } from '@coyotes/protocol';

/** What one quick look at Redis found: its version, or why there is none. */
export type RedisProbe = { address: string; version: string } | { address: string; error: string };

const command = (...words: string[]): string =>
  `*${words.length}\r\n${words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`).join('')}`;

/**
 * Asks the configured Redis for its version (INFO server) over one short-lived socket, giving up
 * after `timeoutMs`. Deliberately without ioredis (a separate entry point, `@coyotes/broker/probe`):
 * `coyotes --version` must answer in a few milliseconds and loading ioredis alone takes longer.
 * With sentinels or a cluster, the first sentinel or seed node is asked.
 */
export async function probeRedisVersion(redis: RedisOptions, timeoutMs: number): Promise<RedisProbe> {
  const sentinel = redis.sentinels?.[0];
  const node = redis.cluster?.[0] ?? sentinel ?? { host: redis.host, port: redis.port };
  const address = `${sentinel ? 'sentinel ' : ''}${node.host}:${node.port}`;
  // sentinels take no password of the primary's (see connectRedis)
  const auth =
    redis.password !== undefined && !sentinel ? command('AUTH', ...(redis.username ? [redis.username] : []), redis.password) : '';
  // node:tls only when it is used: loading it is a good part of a plain --version's cost
  const connectTls = redis.tls ? (await import('node:tls')).connect : undefined;
  return new Promise((resolve) => {
    let received = '';
    const onConnect = () => socket.write(`${auth}${command('INFO', 'server')}`);
    const socket: Socket = connectTls
      ? connectTls({ host: node.host, port: node.port, servername: node.host }, onConnect)
      : connectTcp(node, onConnect);
    const finish = (outcome: { version: string } | { error: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ address, ...outcome });
    };
    const timer = setTimeout(() => finish({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const refused = /^-(.*)\r\n/m.exec(received);
      if (refused) return finish({ error: refused[1]! });
      const version = /^redis_version:([^\r\n]+)\r\n/m.exec(received);
      if (version) finish({ version: version[1]! });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
    socket.on('close', () => finish({ error: 'connection closed' }));
  });
}
