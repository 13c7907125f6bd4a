/**
 * Bytes one run takes in the SQL task history, measured on real servers (started as the tests
 * start them): 10,000 runs with empty output tails, then 10,000 with 1 KiB tails of random text on each stream,
 * table plus indexes as each database reports them.
 *   node --import tsx bench/history-row-size.ts
 */
import { randomBytes } from 'node:crypto';
import { HistoryStore } from '../packages/history/src/index.js';
import type { HistoryRecord } from '../packages/protocol/src/index.js';
import { startMariadb } from '../test/helpers/mariadb.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { runTool } from '../test/helpers/sql-server.js';
import { SQL_DATABASE, SQL_PASSWORD, SQL_USER } from '../test/helpers/sql-server.js';

const ROWS = 10_000;
const BATCH = 500;

function runs(prefix: string, tailBytes: number): HistoryRecord[] {
  // random text: real output compresses, so this is the upper bound
  const tail = randomBytes(tailBytes).toString('base64').slice(0, tailBytes);
  return Array.from({ length: ROWS }, (_, i) => ({
    taskId: `${prefix}${String(i).padStart(16, '0')}`,
    attempt: 1,
    channel: 'default',
    command: `php artisan report:send --user=${i}`,
    status: 'succeeded',
    exitCode: 0,
    signal: null,
    node: 'k3x9q2m8p1z7',
    host: 'worker-01.example.com',
    queuedAt: 1_796_000_000_000 + i,
    startedAt: 1_796_000_000_010 + i,
    finishedAt: 1_796_000_000_250 + i,
    durationMs: 240,
    stdoutTail: tail,
    stderrTail: tail,
    error: null,
    schedule: null,
  }));
}

async function size(dialect: string, port: number): Promise<number> {
  if (dialect === 'postgres') {
    await runTool(
      'psql',
      ['-h', '127.0.0.1', '-p', String(port), '-U', SQL_USER, '-d', SQL_DATABASE, '-c', 'VACUUM ANALYZE coyotes_runs'],
      {
        env: { PGPASSWORD: SQL_PASSWORD },
      },
    );
    const out = await runTool(
      'psql',
      ['-h', '127.0.0.1', '-p', String(port), '-U', SQL_USER, '-d', SQL_DATABASE, '-tAc', "SELECT pg_total_relation_size('coyotes_runs')"],
      { env: { PGPASSWORD: SQL_PASSWORD } },
    );
    return Number(out.trim());
  }
  const args = ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', SQL_USER, `-p${SQL_PASSWORD}`, SQL_DATABASE, '-N', '-e'];
  await runTool('mariadb', [...args, 'ANALYZE TABLE coyotes_runs']);
  const out = await runTool('mariadb', [
    ...args,
    "SELECT data_length + index_length FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'coyotes_runs'",
  ]);
  return Number(out.trim());
}

for (const start of [startPostgres, startMariadb]) {
  const server = await start();
  try {
    const store = await HistoryStore.open(server.url, { migrate: true });
    const empty = await size(server.dialect, server.port);
    const figures: string[] = [];
    let before = empty;
    for (const [prefix, tail] of [
      ['a', 0],
      ['b', 1024],
    ] as const) {
      const all = runs(prefix, tail);
      for (let i = 0; i < all.length; i += BATCH) await store.insert(all.slice(i, i + BATCH));
      const after = await size(server.dialect, server.port);
      figures.push(`${tail} B tails: ${Math.round((after - before) / ROWS)} B/run`);
      before = after;
    }
    console.log(`${server.dialect}: ${figures.join(', ')}`);
    await store.close();
  } finally {
    await server.stop();
  }
}
