import { CoyotesError } from '@coyotes/protocol';
import type { RedisOptions } from '@coyotes/protocol';

/**
 * Reads `redis://[user[:password]@]host[:port][/db]` (`rediss://` for TLS). The error never
 * repeats the URL: it may hold a password.
 */
export function parseRedisUrl(text: string, source: string): RedisOptions {
  const fail = (why: string): never => {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${source} ${why}`, {
      hint: 'use redis://[user[:password]@]host[:port][/db] or rediss:// for TLS',
    });
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('is not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') fail(`must start with redis:// or rediss://, not ${url.protocol}//`);
  if (!url.hostname) fail('names no host');
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) fail('database (the path) must be a non-negative integer');
  if (url.search || url.hash) fail('takes no query string or fragment');
  const options: RedisOptions = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
    db: path === '' ? 0 : Number(path),
    tls: url.protocol === 'rediss:',
  };
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  return options;
}
