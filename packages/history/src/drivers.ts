import type { Dialect, HistoryUrl } from './url.js';

/** A statement's rows, as plain objects keyed by column name. */
export type Row = Record<string, unknown>;

/**
 * The little of a SQL driver the history needs. Statements are written with `?` placeholders
 * (the postgres driver numbers them); values are bound, never spliced in.
 */
export interface SqlDriver {
  readonly dialect: Dialect;
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Rows a statement changed (INSERT … DO NOTHING / IGNORE, DELETE). */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs `fn` on one connection holding a database-wide lock named `name` (migrations). */
  withLock<T>(name: string, fn: (driver: Pick<SqlDriver, 'query' | 'execute' | 'dialect'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** How long connecting and one statement may take: a slow database must not hold a batch forever. */
const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 30_000;
const POOL_SIZE = 4;

/** Opens a pool for the URL's dialect; the driver module is loaded only now (client verbs never pay for it). */
export async function openDriver(url: HistoryUrl, onError: (error: Error) => void): Promise<SqlDriver> {
  return url.dialect === 'postgres' ? openPostgres(url, onError) : openMysql(url, onError);
}

const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

async function openPostgres(url: HistoryUrl, onError: (error: Error) => void): Promise<SqlDriver> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url.raw.replace(/^postgresql:/, 'postgres:'),
    max: POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
  });
  // an idle client whose server went away reports here; unhandled, it would end the process
  pool.on('error', onError);
  const on = (client: Pick<InstanceType<typeof pg.Pool>, 'query'>): Pick<SqlDriver, 'query' | 'execute' | 'dialect'> => ({
    dialect: 'postgres',
    query: async (sql, params = []) => (await client.query(numbered(sql), [...params])).rows as Row[],
    execute: async (sql, params = []) => (await client.query(numbered(sql), [...params])).rowCount ?? 0,
  });
  return {
    ...on(pool),
    async withLock(name, fn) {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
        try {
          return await fn(on(client));
        } finally {
          await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
        }
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function openMysql(url: HistoryUrl, onError: (error: Error) => void): Promise<SqlDriver> {
  const mysql = await import('mysql2/promise');
  const pool = mysql.createPool({
    host: url.host,
    port: url.port,
    user: url.user,
    password: url.password,
    database: url.database,
    connectionLimit: POOL_SIZE,
    connectTimeout: CONNECT_TIMEOUT_MS,
    charset: 'utf8mb4_bin',
    enableKeepAlive: true,
  });
  // a pooled connection whose server went away reports here; unhandled, it would end the process
  pool.pool.on('connection', (connection) => connection.on('error', onError));
  type Runner = Pick<typeof pool, 'query'>;
  const on = (runner: Runner): Pick<SqlDriver, 'query' | 'execute' | 'dialect'> => ({
    dialect: 'mysql',
    query: async (sql, params = []) => {
      const [rows] = await runner.query({ sql, timeout: STATEMENT_TIMEOUT_MS }, [...params]);
      return rows as Row[];
    },
    execute: async (sql, params = []) => {
      const [result] = await runner.query({ sql, timeout: STATEMENT_TIMEOUT_MS }, [...params]);
      return (result as { affectedRows?: number }).affectedRows ?? 0;
    },
  });
  return {
    ...on(pool),
    async withLock(name, fn) {
      const connection = await pool.getConnection();
      try {
        await connection.query('SELECT GET_LOCK(?, 60)', [name]);
        try {
          return await fn(on(connection));
        } finally {
          await connection.query('SELECT RELEASE_LOCK(?)', [name]);
        }
      } finally {
        connection.release();
      }
    },
    close: () => pool.end(),
  };
}
