import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BIN, api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { FORKS_GRANDCHILDREN, allGone, isAlive, killAll, treePids } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-signals-'));
const file = (name: string) => path.join(work, name);

/** A command that records any signal it receives, and runs until its gate file exists. */
const watchful = (name: string, gate: string) => ({
  command: '/bin/sh',
  args: [
    '-c',
    `for s in TERM INT USR2 HUP; do trap "echo $s >> ${file(`${name}.signals`)}" $s; done; ` +
      `touch ${file(`${name}.started`)}; until [ -e ${gate} ]; do sleep 0.05; done; touch ${file(`${name}.finished`)}`,
  ],
  task: name,
});

/** The channel's tasks by state, straight from Redis. */
async function taskStates(redis: TestRedis, channel: string) {
  const k = keys.channel(channel);
  return {
    queued: await redis.client.llen(k.queued),
    running: await redis.client.hlen(k.running),
    failed: await redis.client.zcard(k.failed),
  };
}

for (const signal of ['SIGUSR2', 'SIGTERM', 'SIGINT'] as const) {
  test(`${signal} drains: long commands run on untouched by the signal, then are recorded; exit 0`, async () => {
    const redis = await startRedis();
    const coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '3'] });
    try {
      const gate = file(`${signal}-gate`);
      const names = [1, 2, 3].map((i) => `${signal}-${i}`);
      for (const name of names) await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', watchful(name, gate));
      await waitFor('three commands running', () => names.every((name) => existsSync(file(`${name}.started`))));
      // a command can touch its file before master has heard of it over IPC: the drain's count
      // below is master's, so wait until master reports the three
      await waitFor('master to know the three', async () => {
        const { json } = await api(coyotes.baseUrl, 'GET', '/health');
        return json.data.processes?.channels?.default?.running?.length === 3;
      });

      coyotes.process.kill(signal);
      await waitFor('the drain to begin', () => coyotes.logs().some((l) => l.event === 'drain-started'));
      const late = file(`${signal}-late`);
      await redis.client.lpush(keys.prepareQueue, JSON.stringify({ task: `touch ${late}`, chan: 'default', ts: 1 }));
      // the drain waits for the commands: master and the commands live on until the gate opens
      const draining = coyotes.logs().find((l) => l.event === 'drain-started');
      assert.equal(draining?.running, 3);
      assert.ok(isAlive(coyotes.pid));
      assert.deepEqual(await taskStates(redis, 'default'), { queued: 0, running: 3, failed: 0 });
      writeFileSync(gate, '');

      assert.deepEqual(await coyotes.exited, { code: 0, signal: null });
      for (const name of names) {
        assert.ok(existsSync(file(`${name}.finished`)), `${name} ran to its end`);
        assert.ok(
          !existsSync(file(`${name}.signals`)),
          `${name} received no signal: ${existsSync(file(`${name}.signals`)) && readFileSync(file(`${name}.signals`), 'utf8')}`,
        );
      }
      assert.equal(await redis.client.hget(keys.channel('default').stats, 'succeeded'), '3');
      assert.ok(!existsSync(late), 'nothing started after the signal');
      assert.ok(!existsSync(coyotes.pidfile));
    } finally {
      await coyotes.stop('SIGKILL');
      await redis.stop();
    }
  });
}

/** Starts two forking commands, drains, and answers once a force is due. */
async function runningTrees(coyotes: RunningCoyotes, prefix: string) {
  const ids: string[] = [];
  const pids: number[] = [];
  for (const i of [1, 2]) {
    const { json } = await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', {
      command: '/bin/sh',
      args: [FORKS_GRANDCHILDREN, file(`${prefix}-tree-${i}`)],
    });
    ids.push(json.data.task_id);
  }
  for (const i of [1, 2]) pids.push(...(await treePids(file(`${prefix}-tree-${i}`))));
  return { ids, pids };
}

test('a second signal forces: running trees are killed and their tasks queued again at once, not failed', async () => {
  const redis = await startRedis();
  const coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
  const trees = await runningTrees(coyotes, 'second');
  try {
    coyotes.process.kill('SIGTERM');
    await waitFor('the drain to begin', () => coyotes.logs().some((l) => l.event === 'drain-started'));
    assert.ok(trees.pids.every(isAlive), 'the first signal lets the commands run');
    coyotes.process.kill('SIGINT');
    assert.deepEqual(await coyotes.exited, { code: 0, signal: null });
    await allGone(trees.pids);
    assert.deepEqual(await taskStates(redis, 'default'), { queued: 2, running: 0, failed: 0 });
    const queued = await redis.client.lrange(keys.channel('default').queued, 0, -1);
    assert.deepEqual(queued.sort(), [...trees.ids].sort());
    assert.deepEqual(
      coyotes
        .logs()
        .filter((l) => l.event === 'signal-received' || l.event === 'drain-forced')
        .map((l) => [l.event, l.signal]),
      [
        ['signal-received', 'SIGTERM'],
        ['signal-received', 'SIGINT'],
        ['drain-forced', undefined],
      ],
    );
  } finally {
    killAll(trees.pids);
    await coyotes.stop('SIGKILL');
    await redis.stop();
  }
});

test('-shutdown-timeout expiring forces the same way', async () => {
  const redis = await startRedis();
  const coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2', '-shutdown-timeout', '1'] });
  const trees = await runningTrees(coyotes, 'timeout');
  try {
    coyotes.process.kill('SIGUSR2');
    assert.deepEqual(await coyotes.exited, { code: 0, signal: null });
    await allGone(trees.pids);
    assert.deepEqual(await taskStates(redis, 'default'), { queued: 2, running: 0, failed: 0 });
    assert.ok(coyotes.logs().some((l) => l.event === 'drain-forced'));
    // and the next master runs them
    const next = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
    const rerun: number[] = [];
    try {
      for (const i of [1, 2]) {
        const tree = file(`timeout-tree-${i}`);
        const leader = trees.pids[(i - 1) * 4];
        await waitFor('the re-run', async () => (await treePids(tree))[0] !== leader);
        rerun.push(...(await treePids(tree)));
      }
      assert.equal((await taskStates(redis, 'default')).running, 2);
    } finally {
      killAll(rerun);
      await next.stop('SIGKILL');
    }
  } finally {
    killAll(trees.pids);
    await coyotes.stop('SIGKILL');
    await redis.stop();
  }
});

test('pidfile: a second master refuses with one clear line while the first lives; removed on exit', async () => {
  const redis = await startRedis();
  const first = await startCoyotes({ redisAddr: redis.addr });
  try {
    const second = spawn(process.execPath, [BIN, '-redis-host', redis.addr, '-http-addr', '127.0.0.1:1', '-pidfile', first.pidfile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    second.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    second.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => second.once('close', (c) => resolve(c)));
    assert.notEqual(code, 0);
    assert.ok(!stdout.includes('coyotes started'), stdout);
    assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
    assert.match(stderr, new RegExp(`pid ${first.pid}.*${first.pidfile.replaceAll('/', '\\/')}`));
    assert.equal(readFileSync(first.pidfile, 'utf8').trim(), String(first.pid), 'the holder keeps its pidfile');
    assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });
    assert.ok(!existsSync(first.pidfile));
  } finally {
    await first.stop('SIGKILL');
    await redis.stop();
  }
});

test('pidfile: a holder that is a zombie (SIGKILLed, not reaped yet) holds nothing: the new master starts', async () => {
  const redis = await startRedis();
  // `sleep 0` ends at once and stays a zombie: its parent became `sleep 30`, which never reaps
  const parent = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
  try {
    await waitFor('the zombie', () => readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]!.startsWith('Z'));
    const pidfile = path.join(mkdtempSync(path.join(tmpdir(), 'coyotes-zombie-')), 'coyotes.pid');
    writeFileSync(pidfile, `${zombie}\n`);
    const coyotes = await startCoyotes({ redisAddr: redis.addr, pidfile });
    assert.equal(readFileSync(pidfile, 'utf8').trim(), String(coyotes.pid));
    assert.deepEqual(await coyotes.stop('SIGTERM'), { code: 0, signal: null });
  } finally {
    parent.kill('SIGKILL');
    await redis.stop();
  }
});
