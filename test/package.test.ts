import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { freePort } from './helpers/ports.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const work = mkdtempSync(path.join(tmpdir(), 'coyotes-package-'));
const prefix = path.join(work, 'prefix');
const installed = path.join(prefix, 'lib/node_modules/coyotes');
const coyotesBin = path.join(prefix, 'bin/coyotes');
// outside the repository: nothing of the monorepo's node_modules is reachable from here
const env = { PATH: process.env.PATH, HOME: process.env.HOME };

/** Runs the installed binary to completion from outside the repository. */
async function installedCoyotes(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(coyotesBin, args, { cwd: work, env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const filesUnder = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((file) => path.join(dir, file));

let tarball: string;
let redis: TestRedis;
before(
  async () => {
    // the tests run after `pnpm run build`; pack what it built
    const packed = await run(process.execPath, [path.join(ROOT, 'scripts/pack.mjs'), '--out', work], { timeout: 120_000 });
    tarball = packed.stdout.trim();
    // from npm's cache when it holds the dependencies, from the registry otherwise
    await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], {
      cwd: work,
      timeout: 480_000,
    });
    redis = await startRedis();
  },
  { timeout: 600_000 },
);
after(async () => {
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the package: npm install -g ./coyotes-<version>.tgz', () => {
  test('is named coyotes-<version>.tgz and declares its dependencies, with no workspace link', () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string };
    assert.equal(path.basename(tarball), `coyotes-${version}.tgz`);
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
      name: string;
      bin: Record<string, string>;
      dependencies: Record<string, string>;
    };
    assert.equal(manifest.name, 'coyotes');
    assert.deepEqual(Object.keys(manifest.bin), ['coyotes']);
    for (const dep of ['ioredis', 'koa', 'pino', 'yargs-parser']) assert.ok(manifest.dependencies[dep], `${dep} declared`);
    assert.deepEqual(
      Object.entries(manifest.dependencies).filter(([name, range]) => name.startsWith('@coyotes/') || range.startsWith('workspace:')),
      [],
    );
    // every file is a real file of the install: no link back into a monorepo
    const links = filesUnder(installed).filter((file) => lstatSync(file).isSymbolicLink() && !file.includes('/node_modules/.bin/'));
    assert.deepEqual(links, []);
    const own = filesUnder(path.join(installed, 'lib'));
    assert.ok(
      own.some((file) => /\/broker\/dist\/lua\/claimTasks-\d+\.lua$/.test(file)),
      'the Lua scripts are inside',
    );
    assert.ok(
      own.some((file) => file.endsWith('/dashboard/dist/index.html')),
      'the dashboard is inside',
    );
    assert.deepEqual(
      own.filter((file) => file.endsWith('.js') && /(from|import)\s*\(?\s*['"]@coyotes\//.test(readFileSync(file, 'utf8'))),
      [],
      'no import of a workspace package is left',
    );
  });

  test('the installed coyotes is the server and the client: a pushed task runs, the dashboard is served', async () => {
    const port = await freePort();
    const addr = `127.0.0.1:${port}`;
    const server = spawn(coyotesBin, ['-redis-host', redis.addr, '-http-addr', addr, '-pidfile', path.join(work, 'coyotes.pid')], {
      cwd: work,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => server.once('close', (code) => resolve(code)));
    try {
      await Promise.race([
        waitFor('the installed server answering', async () => (await fetch(`http://${addr}/health`)).status === 200, 60_000),
        exited.then((code) => {
          throw new Error(`the installed server exited with ${code}:\n${output}`);
        }),
      ]);
      // the spawner was compiled by npm install (the package ships its source, no binary)
      const health = (await (await fetch(`http://${addr}/health`)).json()) as { data: { spawner: string } };
      assert.equal(health.data.spawner, 'native', 'the installed package compiled its native spawner');
      const pushed = await installedCoyotes(['push', '--addr', addr, '--wait', '--', 'sh', '-c', 'echo ran from the package; exit 3']);
      assert.equal(pushed.code, 3, pushed.stderr);
      assert.match(pushed.stdout, /^ran from the package$/m);
      const status = await installedCoyotes(['status', '--addr', addr, '--json']);
      assert.equal(status.code, 0, status.stderr);
      const channels = JSON.parse(status.stdout) as { channel?: string; name?: string }[] | Record<string, unknown>;
      assert.match(JSON.stringify(channels), /"default"/);
      const page = await fetch(`http://${addr}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const script = await fetch(`http://${addr}/dashboard/main.js`);
      assert.equal(script.status, 200);
      const version = await installedCoyotes(['--version', '-redis-host', redis.addr]);
      assert.equal(version.code, 0);
      assert.match(version.stdout, /^commit [0-9a-f]{12}/m);
      assert.match(version.stdout, new RegExp(`^redis \\d+\\.\\d+\\.\\d+ at ${redis.addr.replace(/\./g, '\\.')}$`, 'm'));
    } finally {
      server.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
  });
});
