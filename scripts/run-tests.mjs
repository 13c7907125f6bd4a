// Runs every *.test.ts under test/ and packages/*/test/ with Node's test runner (through tsx).
// Arguments filter files by substring: `node scripts/run-tests.mjs broker` runs the broker's.
// The files that start commands run a second time with COYOTES_SPAWNER=node, so that the
// node:child_process fallback stays tested beside the native spawner (TEST_FALLBACK=0 skips it).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { clearTimeout, setTimeout } from 'node:timers';
import path from 'node:path';

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
/** Every test file gets test/helpers/reaper.ts: what it started dies with it, even at its timeout. */
const REAPER = './test/helpers/reaper.ts';
/** How long the runner may take to exit after printing its summary before its group is killed. */
const AFTER_SUMMARY_MS = 30_000;

/** `ps` lines for the processes of a process group, this script excluded. */
function groupMembers(pgid) {
  try {
    return execFileSync('ps', ['-o', 'pid=,stat=,args=', '-g', String(pgid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([pid, stat]) => pid && !stat.startsWith('Z')) // a zombie is dead already
      .map(([pid, , ...args]) => `${pid} ${args.join(' ')}`);
  } catch {
    return []; // ps exits 1 when there is none
  }
}

/** Signals every process of the group. */
function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone
  }
}

/** Names what is left of the group, under `heading`, and SIGKILLs it. */
function killLeft(pgid, heading) {
  const left = groupMembers(pgid);
  if (left.length === 0) return;
  console.error(`\nrun-tests: ${heading}:\n${left.map((line) => `  ${line}`).join('\n')}`);
  signalGroup(pgid, 'SIGKILL');
}

/**
 * Runs Node's test runner on `selected` in a process group of its own and resolves with its exit
 * status. The runner waits for every pipe its files' processes inherited, so a process a test
 * left behind could keep it (and CI) waiting forever: once its summary is printed it has
 * AFTER_SUMMARY_MS to exit, and the whole run has `budgetMs`; past either, what is left of its
 * group is named and killed and the run fails. Whatever outlives a runner that did exit is
 * killed too, and named.
 */
const run = (selected, env, ms, budgetMs) =>
  new Promise((resolve) => {
    const args = ['--import', 'tsx', '--import', REAPER, '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${ms}`];
    if (process.stdout.isTTY) args.push('--test-reporter=spec');
    const reaperLog = path.join(mkdtempSync(path.join(tmpdir(), 'coyotes-run-tests-')), 'reaper.log');
    const child = spawn(process.execPath, [...args, ...selected], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env, COYOTES_REAPER_LOG: reaperLog },
      detached: true,
    });
    const pgid = child.pid;
    // interrupted: the files' reapers get a moment to stop what they started (a RabbitMQ node
    // runs in a process group of its own), then what is left of the group is killed
    const onSignal = (signal) => {
      const code = signal === 'SIGINT' ? 130 : 143;
      signalGroup(pgid, 'SIGTERM');
      child.once('exit', () => process.exit(code));
      setTimeout(() => {
        signalGroup(pgid, 'SIGKILL');
        process.exit(code);
      }, 5000);
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    let stuck;
    const giveUp = (why) => {
      killLeft(pgid, `${why}; killing what is left of its process group`);
      stuck = 1;
    };
    const budget = setTimeout(() => giveUp(`the test run took more than ${budgetMs / 1000} s`), budgetMs);
    let afterSummary;
    let pending = '';
    let previous = '';
    // the summary's last two lines, at the top level: "# todo N" then "# duration_ms …" (tap; "ℹ" in spec)
    const endsSummary = (line) => {
      const ends = /^(# |\u2139 )duration_ms /.test(line) && /^(# |\u2139 )todo \d+$/.test(previous);
      previous = line;
      return ends;
    };
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop();
      if (afterSummary === undefined && lines.filter(endsSummary).length > 0) {
        afterSummary = setTimeout(
          () =>
            giveUp(
              `the test runner printed its summary but had not exited ${AFTER_SUMMARY_MS / 1000} s later (a process a test left holds its output)`,
            ),
          AFTER_SUMMARY_MS,
        );
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(budget);
      clearTimeout(afterSummary);
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      // what the reaper of a file ended at its timeout said (the runner drops that file's stderr)
      if (existsSync(reaperLog)) console.error(`\n${readFileSync(reaperLog, 'utf8')}`);
      rmSync(path.dirname(reaperLog), { recursive: true, force: true });
      killLeft(pgid, 'killing what outlived the test runner');
      resolve(stuck ?? code ?? (signal ? 1 : 0));
    });
  });

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
  'test/channel-fds-limit',
];
const fallback = process.env.TEST_FALLBACK === '0' ? [] : files.filter((file) => FALLBACK_FILES.some((prefix) => file.startsWith(prefix)));

const others = files.filter((file) => !long.includes(file));
/** The whole main run may take this long; each long file its own timeout and two minutes more. */
const MAIN_BUDGET_MS = 45 * 60_000;
// every part runs even when one before it failed: one CI run shows every failure
const failed = [];
if (others.length > 0 && (await run(others, {}, 120_000, MAIN_BUDGET_MS)) !== 0) failed.push('the main run');
for (const file of long) if ((await run([file], {}, LONG_FILES[file], LONG_FILES[file] + 120_000)) !== 0) failed.push(file);
if (fallback.length > 0) {
  console.log(`\nrun-tests: again on the node:child_process fallback (COYOTES_SPAWNER=node): ${fallback.join(' ')}`);
  if ((await run(fallback, { COYOTES_SPAWNER: 'node' }, 120_000, MAIN_BUDGET_MS)) !== 0) failed.push('the fallback run');
}
if (failed.length > 0) console.error(`\nrun-tests: failed: ${failed.join(', ')}`);
process.exit(failed.length > 0 ? 1 : 0);
