import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { stopLeavingNothing } from './helpers/stop.js';
import { waitFor } from './helpers/wait.js';

/*
 * Every ```sh block of README.md and docs/*.md is an example a reader pastes into a terminal:
 * this file runs each one, as written, against a real server of its own, unless the line
 * before the block says why it cannot run here:
 *
 *   <!-- not-run: reason -->      the block is not run (the reason is required)
 *   <!-- failing-tasks: N -->     the block pushes N tasks that are meant to fail
 *
 * The text is fed line by line to `bash -s` (as a paste into a terminal is read) in the
 * repository's root, after a prelude that stands for the reader's terminal: `set -eo pipefail`
 * (any command that fails fails the example; a failure an example shows on purpose is written
 * `cmd || echo …`), aliases expanded as in an interactive shell, `COYOTES_ADDR` set to the test
 * server (the variable the client reads), `redis-cli` pointed at the test Redis, and the default
 * addresses the examples spell out (127.0.0.1:60001 for HTTP, 127.0.0.1:6379 for Redis) replaced
 * by the test servers'. After a block, every task it pushed must have ended, none failed but the
 * N it declares, and no ingress entry may have been dead-lettered.
 */

const ROOT = path.resolve(import.meta.dirname, '..');
const FILES = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).flatMap((file) => (file.endsWith('.md') ? [`docs/${file}`] : []))];
const NOT_RUN = /^<!-- not-run: (.+\S) -->$/;
const FAILING = /^<!-- failing-tasks: (\d+) -->$/;

interface Example {
  where: string;
  code: string;
  notRun: string | null;
  failing: number;
}

/** The ```sh blocks of a Markdown file, with the markers on the lines before them. */
function examples(file: string): Example[] {
  const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `${file}:${i + 1}: a \`\`\`sh block that never closes`);
    let notRun: string | null = null;
    let failing = 0;
    for (let j = i - 1; j >= 0 && lines[j]!.startsWith('<!--'); j--) {
      notRun = NOT_RUN.exec(lines[j]!)?.[1] ?? notRun;
      failing = Number(FAILING.exec(lines[j]!)?.[1] ?? failing);
    }
    found.push({ where: `${file}:${i + 1}`, code: lines.slice(i + 1, end).join('\n'), notRun, failing });
    i = end;
  }
  return found;
}

const ALL = FILES.flatMap(examples);

describe('README and docs examples run as written', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr });
  });
  after(async () => {
    if (coyotes) await stopLeavingNothing(coyotes);
    await redis?.stop();
  });

  /** Failed tasks over every channel, and dead letters. */
  async function tally(): Promise<{ failed: number; deadLetters: number; busy: number }> {
    const stats = (await api(coyotes.baseUrl, 'GET', '/stats')).json.data.channels as Record<string, number>[];
    const deadLetters = (await api(coyotes.baseUrl, 'GET', '/dead-letters')).json.data.count as number;
    const busy =
      stats.reduce((sum, row) => sum + row.queued! + row.running! + row.delayed!, 0) + (await redis.client.llen(keys.prepareQueue));
    return { failed: stats.reduce((sum, row) => sum + row.failed!, 0), deadLetters, busy };
  }

  /** Runs a block the way a terminal reads a paste; resolves with its exit code and output. */
  function run(code: string): Promise<{ code: number | null; output: string }> {
    const prelude = [
      'set -eo pipefail',
      'shopt -s expand_aliases',
      `redis-cli() { command redis-cli -h ${redis.host} -p ${redis.port} "$@"; }`,
    ].join('\n');
    const text = code.replaceAll('127.0.0.1:60001', coyotes.httpAddr).replaceAll('127.0.0.1:6379', redis.addr);
    const shell = spawn('bash', ['--noprofile', '--norc', '-s'], {
      cwd: ROOT,
      env: { ...process.env, COYOTES_ADDR: coyotes.httpAddr, COYOTES_TOKEN: '', NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    shell.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    shell.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    shell.stdin.end(`${prelude}\n${text}\n`);
    const timer = setTimeout(() => shell.kill('SIGKILL'), 120_000);
    return new Promise((resolve) =>
      shell.once('close', (status) => {
        clearTimeout(timer);
        resolve({ code: status, output });
      }),
    );
  }

  test('every example either runs or says why it cannot, and the README has examples that run', () => {
    assert.ok(ALL.filter((example) => example.where.startsWith('README.md') && !example.notRun).length >= 2);
    for (const example of ALL)
      assert.ok(example.notRun === null || example.notRun.length > 3, `${example.where}: a not-run marker needs a reason`);
  });

  for (const example of ALL.filter((candidate) => candidate.notRun === null)) {
    test(`${example.where} runs as written`, async () => {
      const before = await tally();
      const { code, output } = await run(example.code);
      assert.equal(code, 0, `${example.where} failed (exit ${code}):\n${example.code}\n--- output ---\n${output.slice(-3000)}`);
      const settled = await waitFor(
        `the tasks of ${example.where} to end`,
        async () => {
          const now = await tally();
          return now.busy === 0 ? now : undefined;
        },
        60_000,
        250,
      );
      assert.equal(
        settled.failed - before.failed,
        example.failing,
        `${example.where} pushed ${settled.failed - before.failed} task(s) that failed (it declares ${example.failing}):\n${example.code}\n--- output ---\n${output.slice(-3000)}`,
      );
      assert.equal(settled.deadLetters, before.deadLetters, `${example.where} LPUSHed an entry that was dead-lettered`);
    });
  }
});
