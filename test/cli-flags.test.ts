import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { CoyotesClient, FLAGS, parseCommandLine, serverOptions } from '@coyotes/cli';
import { BIN, startCoyotes } from './helpers/coyotes.js';
import { freePort } from './helpers/ports.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const ESC = '\u001b';
const work = mkdtempSync(path.join(tmpdir(), 'coyotes-cli-flags-'));

/** Options as the server would resolve them from this command line, environment and no file. */
const resolve = (argv: string[], env: NodeJS.ProcessEnv = {}) => serverOptions(parseCommandLine(argv), env);

/** Runs the binary to completion; answers its exit code and output. */
async function coyotes(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('server flags: every form of every seed flag', () => {
  test('an unknown flag and an invalid value are refused with their codes', () => {
    assert.throws(() => resolve(['-no-such-flag']), { code: 'COY_ERR_CONFIG_UNKNOWN_FLAG' });
    assert.throws(() => resolve(['-concurrent', 'many']), { code: 'COY_ERR_CONFIG_INVALID', message: /concurrent/ });
  });

  test('-name value, -name=value, --name value and --name=value mean the same', () => {
    for (const argv of [['-concurrent', '7'], ['-concurrent=7'], ['--concurrent', '7'], ['--concurrent=7']]) {
      assert.equal(resolve(argv).options.concurrent, 7, argv.join(' '));
    }
  });

  test('booleans: bare, -bool=false, -bool=true, --bool=false, -bool false', () => {
    assert.equal(resolve([]).options.taskMode, true);
    assert.equal(resolve(['-task-mode=false']).options.taskMode, false);
    assert.equal(resolve(['--task-mode=false']).options.taskMode, false);
    assert.equal(resolve(['-task-mode', 'false']).options.taskMode, false);
    assert.equal(resolve(['-task-mode=true']).options.taskMode, true);
    assert.equal(resolve(['-colorful-tty']).options.colorfulTty, true);
    assert.equal(resolve(['--colorful-tty']).options.colorfulTty, true);
    assert.equal(resolve(['-colorful-tty=false']).options.colorfulTty, false);
  });

  test('each seed flag sets its option', () => {
    const { options, warnings } = resolve([
      '-channel-default',
      'jobs',
      '-concurrent',
      '3',
      '-http-addr',
      '127.0.0.1:7001',
      '-pidfile',
      '/tmp/x.pid',
      '-redis-db',
      '4',
      '-redis-host',
      '10.0.0.5:6380',
      '-redis-password',
      'pw',
      '-task-mode=false',
      '-colorful-tty',
    ]);
    assert.equal(options.channelDefault, 'jobs');
    assert.equal(options.concurrent, 3);
    assert.equal(options.httpAddr, '127.0.0.1:7001');
    assert.equal(options.pidfile, '/tmp/x.pid');
    assert.deepEqual({ ...options.redis }, { host: '10.0.0.5', port: 6380, db: 4, password: 'pw' });
    assert.equal(options.taskMode, false);
    assert.equal(options.colorfulTty, true);
    assert.deepEqual(warnings, []);
  });

  test('-host and -password are deprecated aliases: they work and warn', () => {
    const { options, warnings } = resolve(['-host', '10.0.0.6:6390', '-password', 'old']);
    assert.equal(options.redis.host, '10.0.0.6');
    assert.equal(options.redis.port, 6390);
    assert.equal(options.redis.password, 'old');
    assert.deepEqual(warnings, [
      '-host is deprecated: use -redis-host (or COYOTES_REDIS_HOST)',
      '-password is deprecated: use -redis-password (or COYOTES_REDIS_PASSWORD)',
    ]);
  });

  test('the new flags: -http-token, -log-level, -log-file, -shutdown-timeout, -command-root', () => {
    const { options } = resolve([
      '--http-token',
      't0k',
      '--log-level',
      'debug',
      '--log-file',
      '/tmp/c.log',
      '--shutdown-timeout',
      '90',
      '--command-root',
      '/srv',
    ]);
    assert.equal(options.httpToken, 't0k');
    assert.equal(options.logLevel, 'debug');
    assert.equal(options.logFile, '/tmp/c.log');
    assert.equal(options.shutdownTimeoutMs, 90_000);
    assert.equal(options.commandRoot, '/srv');
  });

  test('-redis-url: user, password, host, port, db, and TLS for rediss://; -redis-* beside it refine it', () => {
    assert.deepEqual(
      { ...resolve(['-redis-url', 'rediss://app:s%40cret@cache.internal:6380/2']).options.redis },
      {
        host: 'cache.internal',
        port: 6380,
        db: 2,
        tls: true,
        username: 'app',
        password: 's@cret',
      },
    );
    assert.deepEqual({ ...resolve(['-redis-url', 'redis://10.1.1.1']).options.redis }, { host: '10.1.1.1', port: 6379, db: 0, tls: false });
    assert.equal(resolve(['-redis-url', 'redis://10.1.1.1/1', '-redis-db', '5']).options.redis.db, 5);
  });

  test('-run-as resolves the user through the system user database', () => {
    const { options } = resolve(['-run-as', 'nobody']);
    assert.equal(options.runAs?.user, 'nobody');
    assert.equal(options.runAs?.uid, 65534);
  });
});

describe('server flags: precedence flags > environment > config file > defaults', () => {
  const json = path.join(work, 'coyotes.json');
  const yaml = path.join(work, 'coyotes.yaml');
  before(() => {
    writeFileSync(json, JSON.stringify({ concurrent: 4, 'channel-default': 'from-file', 'task-mode': false, 'redis-host': '10.9.9.9:1' }));
    writeFileSync(yaml, 'concurrent: 4\nchannel-default: from-file\ntask-mode: false\nredis-url: redis://10.9.9.9:1/3\n');
  });

  for (const file of ['json', 'yaml'] as const) {
    test(`a ${file} config file beats defaults; environment beats the file; flags beat both`, () => {
      const config = file === 'json' ? json : yaml;
      const fromFile = resolve(['-config', config]).options;
      assert.equal(fromFile.concurrent, 4);
      assert.equal(fromFile.channelDefault, 'from-file');
      assert.equal(fromFile.taskMode, false);
      assert.equal(fromFile.redis.host, '10.9.9.9');

      const env = { COYOTES_CONCURRENT: '6', COYOTES_CHANNEL_DEFAULT: 'from-env' };
      const fromEnv = resolve(['-config', config], env).options;
      assert.equal(fromEnv.concurrent, 6);
      assert.equal(fromEnv.channelDefault, 'from-env');
      assert.equal(fromEnv.taskMode, false);

      const fromFlags = resolve(['-config', config, '-concurrent', '8'], env).options;
      assert.equal(fromFlags.concurrent, 8);
      assert.equal(fromFlags.channelDefault, 'from-env');
    });
  }

  test('COYOTES_CONFIG names the file; a lower source never overrides a higher one through an alias or URL', () => {
    assert.equal(resolve([], { COYOTES_CONFIG: json }).options.concurrent, 4);
    // an environment URL loses to a -redis-host flag, and a deprecated env alias too
    assert.equal(resolve(['-redis-host', '10.0.0.1:1'], { COYOTES_REDIS_URL: 'redis://10.0.0.2:2' }).options.redis.host, '10.0.0.1');
    assert.equal(resolve(['-redis-host', '10.0.0.1:1'], { COYOTES_HOST: '10.0.0.3:3' }).options.redis.host, '10.0.0.1');
  });
});

describe('server flags through the binary: bad input exits 2 with one readable line', () => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['-nope'], {}, /^coyotes: unknown flag -nope \(see coyotes --help\)$/],
    [['-concurrent', 'abc'], {}, /^coyotes: -concurrent must be a non-negative integer, got "abc"$/],
    [['-concurrent=0'], {}, /^coyotes: concurrent must be at least 1$/],
    [['-task-mode=maybe'], {}, /^coyotes: -task-mode must be true or false, got "maybe"$/],
    [['-http-addr', 'nowhere'], {}, /^coyotes: http-addr must be host:port, got "nowhere"$/],
    [['-http-processes', '0'], {}, /^coyotes: http-processes must be between 1 and 64, got 0$/],
    [['-redis-host'], {}, /^coyotes: -redis-host needs a value$/],
    [['-log-level', 'loud'], {}, /^coyotes: -log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"$/],
    [['-redis-url', 'http://:hunter2@x'], {}, /^coyotes: -redis-url must start with redis:\/\/ or rediss:\/\/, not http:\/\/ \(use /],
    [['-run-as', 'no-such-user-here'], {}, /^coyotes: -run-as: no user "no-such-user-here" on this host$|needs Coyotes to run as root/],
    [[], { COYOTES_REDIS_DB: '-1' }, /^coyotes: environment variable COYOTES_REDIS_DB must be a non-negative integer, got "-1"$/],
    [['-config', '/nonexistent.yaml'], {}, /^coyotes: cannot read config file \/nonexistent.yaml: ENOENT$/],
    [['-http-addr', '0.0.0.0:7000'], {}, /^coyotes: -http-addr 0.0.0.0:7000 is not a loopback address and no -http-token is set/],
    [['frobnicate'], {}, /^coyotes: unknown verb or argument "frobnicate"/],
  ];
  for (const [args, env, expected] of cases) {
    test(`${args.join(' ')} ${Object.entries(env).map(([k, v]) => `${k}=${v}`)}`.trim(), async () => {
      const { code, stdout, stderr } = await coyotes(args, env);
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.equal(stderr.split('\n').filter(Boolean).length, 1, stderr);
      assert.match(stderr.trim(), expected);
    });
  }

  test('a bad -redis-url never repeats the password', async () => {
    const { code, stderr } = await coyotes(['-redis-url', 'redis://:hunter2@x/notadb']);
    assert.equal(code, 2);
    assert.doesNotMatch(stderr, /hunter2/);
  });

  test('--help documents every flag with its default and environment variable', async () => {
    const { code, stdout } = await coyotes(['--help']);
    assert.equal(code, 0);
    for (const flag of FLAGS) {
      const entry = new RegExp(`^  -${flag.name}\\b[^\\n]*\\n {8}[^\\n]*env COYOTES_${flag.name.toUpperCase().replace(/-/g, '_')}`, 'm');
      assert.match(stdout, entry, flag.name);
      if (!flag.deprecated) assert.match(stdout, new RegExp(`^  -${flag.name}\\b[^\\n]*\\n[^\\n]*\\(default `, 'm'), flag.name);
    }
    assert.match(stdout, /-concurrent int\n.*\(default 5;/);
    assert.match(stdout, /-http-addr string\n.*\(default "127\.0\.0\.1:60001";/);
  });
});

describe('a running server: logs, secrets, TTY banner, run-as', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis(['--requirepass', 'r3dis-s3cret']);
  });
  after(async () => {
    await redis?.stop();
  });

  test('-log-file gets JSON lines; neither the Redis password nor the HTTP token appears anywhere', async () => {
    const logFile = path.join(work, 'coyotes.log');
    const server = await startCoyotes({
      redisAddr: redis.addr,
      args: ['-redis-password', 'r3dis-s3cret', '-http-token', 'h77p-t0ken', '-log-file', logFile, '-log-level', 'debug'],
    });
    try {
      const client = new CoyotesClient({ addr: server.httpAddr, token: 'h77p-t0ken' });
      const { taskId } = await client.push({ channel: 'default', command: 'true', args: [] });
      assert.equal((await client.waitForTask(taskId)).status, 'succeeded');
    } finally {
      await server.stop('SIGTERM');
    }
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    const records = lines.map((line) => JSON.parse(line) as { msg: string; role: string });
    assert.ok(records.some((r) => r.event === 'started' && r.role === 'master'));
    assert.ok(records.some((r) => r.role === 'channel'));
    assert.ok(records.some((r) => r.event === 'stopped'));
    for (const text of [readFileSync(logFile, 'utf8'), server.output()]) {
      assert.doesNotMatch(text, /r3dis-s3cret|h77p-t0ken/);
    }
  });

  test('-colorful-tty on a terminal: colored lines and a banner; without a terminal: JSON lines', async () => {
    const port = await freePort();
    const pidfile = path.join(work, 'tty.pid');
    const args = [
      '-redis-url',
      `redis://:r3dis-s3cret@${redis.addr}`,
      '-http-addr',
      `127.0.0.1:${port}`,
      '-pidfile',
      pidfile,
      '-colorful-tty',
    ];
    const transcript = path.join(work, 'tty.out');
    // script(1) gives the server a real pseudo-terminal
    const session = execFile('script', ['-qfc', [process.execPath, BIN, ...args].join(' '), transcript]);
    try {
      await waitFor('the banner', async () => readFileSync(transcript, 'utf8').includes('channels'), 20_000);
    } finally {
      const ended = new Promise((resolve) => session.once('exit', resolve));
      await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGTERM');
      await ended;
    }
    // script(1) writes its own header naming the command line (where the operator put the password)
    const screen = readFileSync(transcript, 'utf8').replace(/^Script started.*\n/, '');
    assert.ok(screen.includes(`${ESC}[1m${ESC}[36mcoyotes${ESC}[39m${ESC}[22m `), 'bold cyan name in the banner');
    assert.match(screen, new RegExp(`redis://${redis.addr}/0`));
    assert.match(screen, new RegExp(`http://127\\.0\\.0\\.1:${port}`));
    assert.match(screen, /channels .*biz, cron, default/);
    assert.ok(screen.includes(`${ESC}[32mINFO${ESC}[39m`), 'green INFO level');
    assert.doesNotMatch(screen, /^\{"level"/m);
    assert.doesNotMatch(screen, /r3dis-s3cret/);

    const piped = await startCoyotes({ redisAddr: redis.addr, args: ['-redis-password', 'r3dis-s3cret', '-colorful-tty'] });
    await piped.stop('SIGTERM');
    assert.ok(piped.logs().some((record) => record.event === 'started'));
    assert.ok(!piped.output().includes(ESC), 'no escape sequence without a terminal');
  });

  test('-run-as nobody: commands run with its uid and home; no root warning', async () => {
    const server = await startCoyotes({ redisAddr: redis.addr, args: ['-redis-password', 'r3dis-s3cret', '-run-as', 'nobody'] });
    try {
      const client = new CoyotesClient({ addr: server.httpAddr });
      const { taskId } = await client.push({ channel: 'default', command: 'sh', args: ['-c', 'echo "$(id -u):$(id -g):$(id -G):$USER"'] });
      const task = await client.waitForTask(taskId);
      assert.equal(task.result?.stdout_tail, '65534:65534:65534:nobody\n');
    } finally {
      await server.stop('SIGTERM');
    }
    assert.ok(server.logs().some((l) => l.event === 'started'));
    assert.ok(!server.logs().some((l) => l.event === 'running-as-root'));
  });
});
