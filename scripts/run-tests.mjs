// Runs every *.test.ts under test/ and packages/*/test/ with Node's test runner (through tsx).
// Arguments filter files by substring: `node scripts/run-tests.mjs broker` runs the broker's.
// The files that start commands run a second time with COYOTES_SPAWNER=node, so that the
// node:child_process fallback stays tested beside the native spawner (TEST_FALLBACK=0 skips it).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const roots = ['test', ...readdirSync('packages').map((name) => `packages/${name}/test`)];
const filters = process.argv.slice(2);
const files = roots
  .flatMap((root) => {
    try {
      return readdirSync(root, { recursive: true }).map((file) => `${root}/${file}`);
    } catch {
      return [];
    }
  })
  .filter((file) => file.endsWith('.test.ts'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test file matches');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const run = (selected, env, ms = 120_000) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${ms}`, ...selected], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  }).status ?? 1;

/**
 * Files that may take longer than the 120 s a test file is given, run on their own after the
 * others: the package test's `npm install` of the tarball fetches its dependencies from the
 * registry on a machine whose npm cache is empty (a fresh CI machine), and the test runner ends
 * a file at its timeout whatever its hooks allow.
 */
const LONG_FILES = {
  'test/package.test.ts': 900_000,
  // a private rabbitmq-server takes seconds to start and restart, and 2,000 tasks flow through it
  'test/transport-rabbitmq.test.ts': 900_000,
  'test/delivery-rabbitmq.test.ts': 900_000,
  'test/transport-rabbitmq-holds.test.ts': 900_000,
  'test/transport-rabbitmq-breakit.test.ts': 900_000,
};
const long = files.filter((file) => file in LONG_FILES);

/** What runs again on the fallback: the end-to-end files about commands and their supervision. */
const FALLBACK_FILES = [
  'test/supervision-channels',
  'test/supervision-commands',
  'test/supervision-crash',
  'test/supervision-signals',
  'test/cli-client',
  'test/foundation',
];
const fallback = process.env.TEST_FALLBACK === '0' ? [] : files.filter((file) => FALLBACK_FILES.some((prefix) => file.startsWith(prefix)));

const others = files.filter((file) => !long.includes(file));
let status = others.length > 0 ? run(others, {}) : 0;
for (const file of long) status ||= run([file], {}, LONG_FILES[file]);
if (status !== 0 || fallback.length === 0) process.exit(status);
console.log(`\nrun-tests: again on the node:child_process fallback (COYOTES_SPAWNER=node): ${fallback.join(' ')}`);
process.exit(run(fallback, { COYOTES_SPAWNER: 'node' }));
