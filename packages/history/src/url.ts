import { CoyotesError } from '@coyotes/protocol';

export type Dialect = 'mysql' | 'postgres';

/** What a `-history-url` names. */
export interface HistoryUrl {
  dialect: Dialect;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** The URL with its password hidden, for messages and logs. */
  redacted: string;
  /** The URL as given (pg takes it whole: sslmode and other parameters). */
  raw: string;
}

const DIALECTS: Record<string, Dialect> = { mysql: 'mysql', mariadb: 'mysql', postgres: 'postgres', postgresql: 'postgres' };
const DEFAULT_PORTS: Record<Dialect, number> = { mysql: 3306, postgres: 5432 };

/** Parses `mysql://user:password@host:port/db` or `postgres://…`, failing with the option's name. */
export function parseHistoryUrl(raw: string): HistoryUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', 'history-url is not a URL (mysql://user:password@host:port/db or postgres://…)');
  }
  const dialect = DIALECTS[url.protocol.replace(/:$/, '')];
  if (!dialect) throw new CoyotesError('COY_ERR_CONFIG_INVALID', `history-url must be mysql:// or postgres://, got ${url.protocol}//`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!url.hostname || !database) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', 'history-url must name a host and a database (…://host:port/database)');
  }
  const redacted = new URL(raw);
  if (redacted.password) redacted.password = '***';
  return {
    dialect,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : DEFAULT_PORTS[dialect],
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    redacted: redacted.toString(),
    raw,
  };
}
