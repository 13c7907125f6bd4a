import type { ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { SQL_DATABASE, SQL_PASSWORD, SQL_USER, launchUntil, runTool } from './sql-server.js';
import type { TestSqlServer } from './sql-server.js';

/**
 * A MariaDB server of the test's own (Debian's `mariadb-server`): a private data directory owned
 * by `mysql`, a free loopback port, its own socket, and a database with a user that has a
 * password, so a wrong password is refused as it would be in production.
 */
export async function startMariadb(): Promise<TestSqlServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-mariadb-'));
  chmodSync(dir, 0o755);
  const uid = Number((await runTool('id', ['-u', 'mysql'])).trim());
  const gid = Number((await runTool('id', ['-g', 'mysql'])).trim());
  chownSync(dir, uid, gid);
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'sock');
  await runTool('mariadb-install-db', [
    '--no-defaults',
    '--user=mysql',
    `--datadir=${data}`,
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
  ]);
  let server: ChildProcess | undefined;
  const up = async () => {
    server = await launchUntil(
      'mariadbd',
      [
        '--no-defaults',
        '--user=mysql',
        `--datadir=${data}`,
        `--socket=${socket}`,
        `--pid-file=${path.join(dir, 'pid')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        '--innodb-flush-log-at-trx-commit=0',
        '--innodb-buffer-pool-size=32M',
        '--skip-log-bin',
      ],
      /ready for connections/,
    );
  };
  const down = async () => {
    const child = server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  await up();
  // root logs in over the socket as the OS root user (unix_socket authentication)
  await runTool('mariadb', ['--no-defaults', `--socket=${socket}`, '-uroot'], {
    input: `CREATE DATABASE ${SQL_DATABASE};
      CREATE USER '${SQL_USER}'@'127.0.0.1' IDENTIFIED BY '${SQL_PASSWORD}';
      GRANT ALL ON ${SQL_DATABASE}.* TO '${SQL_USER}'@'127.0.0.1';`,
  });
  return {
    dialect: 'mysql',
    port,
    url: `mysql://${SQL_USER}:${SQL_PASSWORD}@127.0.0.1:${port}/${SQL_DATABASE}`,
    wrongPasswordUrl: `mysql://${SQL_USER}:not-the-password@127.0.0.1:${port}/${SQL_DATABASE}`,
    up,
    down,
    async stop() {
      await down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
