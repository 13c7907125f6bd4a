// Runs every *.test.ts under test/ and packages/*/test/ with Node's test runner (through tsx).
// Arguments filter files by substring: `node scripts/run-tests.mjs broker` runs the broker's.
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
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=120000', ...files],
  {
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
