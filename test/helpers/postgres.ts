import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { SQL_DATABASE, SQL_PASSWORD, SQL_USER, runTool } from './sql-server.js';
import type { TestSqlServer } from './sql-server.js';

/** Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<version>/bin. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((version) => path.join(root, version, 'bin')).find((bin) => existsSync(path.join(bin, 'initdb')));
  if (!found) throw new Error('no PostgreSQL server under /usr/lib/postgresql (scripts/bootstrap.sh test installs it)');
  return found;
}

/** The server refuses to run as root: every server tool runs as the `postgres` user. */
const asPostgres = (bin: string, tool: string, args: string[]) =>
  runTool('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]);

/**
 * A PostgreSQL server of the test's own: a private data directory (owned by `postgres`), a free
 * loopback port, a socket directory of its own, and a database owned by a user with a password
 * (scram), so a wrong password is refused as it would be in production.
 */
export async function startPostgres(): Promise<TestSqlServer> {
  const bin = postgresBin();
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-postgres-'));
  chmodSync(dir, 0o755);
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, `${SQL_PASSWORD}\n`);
  const postgresUid = Number((await runTool('id', ['-u', 'postgres'])).trim());
  const postgresGid = Number((await runTool('id', ['-g', 'postgres'])).trim());
  chownSync(dir, postgresUid, postgresGid);
  chownSync(pwfile, postgresUid, postgresGid);
  const data = path.join(dir, 'data');
  await asPostgres(bin, 'initdb', ['-D', data, '-U', SQL_USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const up = async () => {
    await asPostgres(bin, 'pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  };
  const down = async () => {
    await asPostgres(bin, 'pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => undefined);
  };
  await up();
  await runTool(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', SQL_USER, SQL_DATABASE], {
    env: { PGPASSWORD: SQL_PASSWORD },
  });
  return {
    dialect: 'postgres',
    port,
    url: `postgres://${SQL_USER}:${SQL_PASSWORD}@127.0.0.1:${port}/${SQL_DATABASE}`,
    wrongPasswordUrl: `postgres://${SQL_USER}:not-the-password@127.0.0.1:${port}/${SQL_DATABASE}`,
    up,
    down,
    async stop() {
      await down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
