import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { BIN, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { freePort } from './helpers/ports.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const RECORD_IMPORTS = path.join(import.meta.dirname, 'fixtures/record-imports.mjs');
const work = mkdtempSync(path.join(tmpdir(), 'coyotes-startup-'));

/** Runs the binary to completion; answers its exit code and output. */
async function coyotes(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []) {
  try {
    const { stdout, stderr } = await run(process.execPath, [...nodeArgs, BIN, ...args], {
      env: { ...process.env, ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The modules one run of the binary loaded (their resolved URLs), and how it ended. */
async function importsOf(name: string, args: string[]): Promise<{ code: number; urls: string[] }> {
  const record = path.join(work, `${name}.imports`);
  const { code } = await coyotes(args, { RECORD_IMPORTS: record }, ['--import', RECORD_IMPORTS]);
  return { code, urls: readFileSync(record, 'utf8').split('\n').filter(Boolean) };
}

/** Server-side code a client verb must not load: master, the api, the runner, ioredis, pino, koa. */
const SERVER_ONLY = /\/(master|api|runner)\/dist\/|\/node_modules\/(ioredis|pino|koa|@koa)\//;

let redis: TestRedis;
let server: RunningCoyotes;
before(async () => {
  redis = await startRedis();
  server = await startCoyotes({ redisAddr: redis.addr });
});
after(async () => {
  await server?.stop();
  await redis?.stop();
});

describe('start-up: a client verb loads only what it needs', () => {
  test('status, push and --version load no server code', async () => {
    const addr = server.httpAddr;
    for (const [name, args] of [
      ['status', ['status', '--addr', addr]],
      ['push', ['push', '--addr', addr, '--', 'true']],
      ['version', ['--version', '-redis-host', redis.addr]],
    ] as const) {
      const { code, urls } = await importsOf(name, [...args]);
      assert.equal(code, 0, name);
      assert.ok(
        urls.some((url) => url.endsWith('/cli/bin/coyotes.js')),
        `${name} ran the binary`,
      );
      assert.deepEqual(
        urls.filter((url) => SERVER_ONLY.test(url)),
        [],
        `${name} loaded server-only modules`,
      );
    }
  });

  test('status and --version load one module of ours, the bundled entry, and neither TLS nor child_process', async () => {
    for (const [name, args] of [
      ['status-files', ['status', '--addr', server.httpAddr]],
      ['version-files', ['--version', '-redis-host', redis.addr]],
    ] as const) {
      const { code, urls } = await importsOf(name, [...args]);
      assert.equal(code, 0, name);
      assert.deepEqual(
        urls.filter((url) => url.startsWith('file:')).map((url) => path.relative(ROOT, new URL(url).pathname)),
        ['packages/cli/bin/coyotes.js', 'packages/cli/dist/main.bundle.js'],
        `${name}: the files it loaded`,
      );
      assert.deepEqual(
        urls.filter((url) => /^node:(https|tls|crypto|child_process)$/.test(url)),
        [],
        `${name}: builtins only an https address or -run-as needs`,
      );
    }
  });

  test("the server's own process loads none of the api process's modules, nor pino-pretty when it logs JSON", async () => {
    const record = path.join(work, 'server-modules.imports');
    const server = pathToFileURL(path.join(ROOT, 'packages/cli/dist/server.js')).href;
    await run(process.execPath, ['--import', RECORD_IMPORTS, '--input-type=module', '-e', `await import(${JSON.stringify(server)})`], {
      env: { ...process.env, RECORD_IMPORTS: record },
      timeout: 20_000,
    });
    const urls = readFileSync(record, 'utf8').split('\n');
    assert.ok(urls.some((url) => /\/master\/dist\/master\.js$/.test(url)));
    assert.deepEqual(
      urls.filter((url) => /\/api\/dist\/(?!entry\.js$)|\/node_modules\/(koa|@koa|prom-client|pino-pretty)\//.test(url)),
      [],
    );
  });

  test('the server loads them (the check above sees server code when it is there)', async () => {
    const port = await freePort();
    const record = path.join(work, 'server.imports');
    const child = execFile(
      process.execPath,
      [
        '--import',
        RECORD_IMPORTS,
        BIN,
        '-redis-host',
        redis.addr,
        '-http-addr',
        `127.0.0.1:${port}`,
        '-pidfile',
        path.join(work, 'server.pid'),
      ],
      { env: { ...process.env, RECORD_IMPORTS: record } },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const { waitFor } = await import('./helpers/wait.js');
      await waitFor('the HTTP API', async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 30_000);
      const urls = readFileSync(record, 'utf8').split('\n');
      assert.ok(urls.some((url) => /\/master\/dist\/master\.js$/.test(url)));
      assert.ok(urls.some((url) => /\/node_modules\/ioredis\//.test(url)));
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('coyotes --version', () => {
  test('prints the version, the commit it was built from, Node and the configured Redis versions', async () => {
    const { code, stdout } = await coyotes(['--version', '-redis-host', redis.addr]);
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split('\n');
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string };
    assert.equal(lines[0], `coyotes ${version}`);
    const commit = /^commit ([0-9a-f]{12})(?: \(with uncommitted changes\))?, built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.exec(lines[1]!);
    assert.ok(commit, lines[1]);
    // a commit of this repository, recorded by the build (an installed package has no .git)
    const { stdout: type } = await run('git', ['cat-file', '-t', commit[1]!], { cwd: ROOT });
    assert.equal(type.trim(), 'commit');
    assert.equal(lines[2], `node ${process.version}`);
    const info = await redis.client.info('server');
    const redisVersion = /^redis_version:(\S+)/m.exec(info)![1];
    assert.equal(lines[3], `redis ${redisVersion} at ${redis.addr}`);
  });

  test('says "redis: unreachable" when nothing answers, and still exits 0', async () => {
    const port = await freePort();
    const { code, stdout } = await coyotes(['--version'], { COYOTES_REDIS_HOST: `127.0.0.1:${port}` });
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`^redis: unreachable at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)$`, 'm'));
  });

  test('a refused password is said, not taken for a version', async () => {
    const locked = await startRedis(['--requirepass', 'right']);
    try {
      const { code, stdout } = await coyotes(['--version', '-redis-host', locked.addr, '-redis-password', 'wrong']);
      assert.equal(code, 0);
      assert.match(stdout, new RegExp(`^redis: unreachable at ${locked.addr.replace(/\./g, '\\.')} \\(WRONGPASS`, 'm'));
      const good = await coyotes(['--version', '-redis-host', locked.addr, '-redis-password', 'right']);
      assert.match(good.stdout, /^redis \d+\.\d+\.\d+ at /m);
    } finally {
      await locked.stop();
    }
  });
});
