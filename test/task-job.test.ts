// task-job drop-in: a task-job user stops task-job, starts Coyotes with the same config.json,
// and keeps producers (RPUSH queue_job_task), kills (RPUSH queue_job_task_control) and log
// consumers (the queue_job_task_logs list, logs_http) unchanged.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { logFileRecords } from './helpers/logs.js';
import { freePort } from './helpers/ports.js';
import { FORKS_GRANDCHILDREN, allGone, killAll, treePids } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { stopLeavingNothing } from './helpers/stop.js';
import { waitFor } from './helpers/wait.js';

const DEADLINE_MS = 60_000;

interface TaskLog {
  id: string;
  type: string;
  child_num: number;
  msg_type: 'stdout' | 'stderr' | 'done';
  data: string;
}

/** A cmd_dir of the test's own with task-job scripts in it. */
function makeCmdDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-task-job-'));
  // prints its cwd and each argument on a line of its own, one line on stderr, and exits with $EXIT_WITH
  writeFileSync(
    path.join(dir, 'args.sh'),
    'echo "cwd=$(pwd)"\nfor a in "$@"; do echo "arg=$a"; done\necho "to stderr" >&2\necho "last line"\n',
  );
  // appends its first argument to the file named by its second (order and run-once checks)
  writeFileSync(path.join(dir, 'append.sh'), 'echo "$1" >> "$2"\n');
  writeFileSync(path.join(dir, 'sleep.sh'), 'echo "sleeping"\nsleep "$1"\n');
  copyFileSync(FORKS_GRANDCHILDREN, path.join(dir, 'tree.sh'));
  return dir;
}

function writeConfig(dir: string, config: Record<string, unknown>): string {
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

const task = (id: string, cmdline: string, args: string[] = [], extra: Record<string, unknown> = {}, timeout?: number) =>
  JSON.stringify({ id, type: 'deploy', ...extra, task: { cmdline, cmd_args: args, ...(timeout === undefined ? {} : { timeout }) } });

async function logsOf(redis: TestRedis, list: string, id: string): Promise<TaskLog[]> {
  return (await redis.client.lrange(list, 0, -1)).map((raw) => JSON.parse(raw) as TaskLog).filter((record) => record.id === id);
}

/** Waits for a task's `done` record and answers all its records. */
async function finishedLogs(redis: TestRedis, list: string, id: string): Promise<TaskLog[]> {
  return waitFor(
    `the done record of ${id}`,
    async () => {
      const records = await logsOf(redis, list, id);
      return records.some((record) => record.msg_type === 'done') ? records : undefined;
    },
    DEADLINE_MS,
    100,
  );
}

async function statusOf(coyotes: RunningCoyotes, id: string): Promise<string | undefined> {
  return (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data?.status as string | undefined;
}

async function deadLetterFor(coyotes: RunningCoyotes, payload: string): Promise<{ reason: string }> {
  return waitFor(
    `the dead letter of ${payload}`,
    async () => {
      const { json } = await api(coyotes.baseUrl, 'GET', '/dead-letters?limit=100');
      return (json.data.items as { reason: string; payload: string }[]).find((letter) => letter.payload === payload);
    },
    DEADLINE_MS,
    100,
  );
}

describe('task-job config.json: read as task-job reads it', () => {
  let dir: string;
  before(() => (dir = makeCmdDir()));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const refuse = (config: Record<string, unknown>): { status: number | null; stderr: string } => {
    const run = spawnSync(process.execPath, [BIN, '-config', writeConfig(dir, config)], { encoding: 'utf8', timeout: 30_000 });
    return { status: run.status, stderr: run.stderr };
  };

  test('a key neither task-job nor Coyotes knows is one line naming it, exit 2', () => {
    const { status, stderr } = refuse({ redis_addr: '127.0.0.1:6379', cmd_dir: dir, queue_nmae: 'jobs' });
    assert.equal(status, 2);
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /unknown setting "queue_nmae"/);
  });

  test('bad values of task-job keys are refused naming the key', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ redis_addr: 'localhost' }, /redis_addr must be host:port/],
      [{ redis_addr: 'sentinel://a:1,b' }, /redis_addr must be host:port, got "b"/],
      [{ logs: 'yes' }, /logs must be true or false/],
      [{ logs_http: 'ftp://x' }, /logs_http must be an http/],
      [{ server_port: 'http' }, /server_port must be a port number/],
      [{ cmd_dir: path.join(dir, 'missing') }, /cmd_dir names no directory/],
      [{ queue_name: 'jobs', logs_channel: 'jobs' }, /must name three different lists/],
    ];
    for (const [config, message] of cases) {
      const { status, stderr } = refuse({ cmd_dir: dir, ...config });
      assert.equal(status, 2, JSON.stringify(config));
      assert.match(stderr, message, JSON.stringify(config));
    }
  });

  test('redis_addr and server_port are what Coyotes connects to and listens on; Coyotes keys sit beside them', async () => {
    const redis = await startRedis();
    const port = await freePort();
    const config = writeConfig(dir, {
      server_port: String(port),
      redis_addr: redis.addr,
      queue_name: '',
      logs: true,
      cmd_dir: dir,
      pidfile: path.join(dir, 'coyotes.pid'),
      concurrent: 2,
    });
    // task-job's own start line: its glog flags are accepted, -log_dir holds the log
    const logDir = mkdtempSync(path.join(tmpdir(), 'coyotes-task-job-log-'));
    const child = spawn(process.execPath, [BIN, `-config=${config}`, '-alsologtostderr', `-log_dir=${logDir}`], { stdio: 'ignore' });
    try {
      await waitFor('the HTTP API on server_port', async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, DEADLINE_MS, 100);
      await redis.client.rpush('queue_job_task', task('101', 'args.sh', ['feature/x']));
      const records = await finishedLogs(redis, 'queue_job_task_logs', '101');
      assert.equal(records.at(-1)!.data, 'exit 0');
      const detail = await (await fetch(`http://127.0.0.1:${port}/tasks/101`)).json();
      assert.equal(detail.data.status, 'succeeded');
      assert.equal(detail.data.task_name, 'args.sh feature/x');
      assert.equal((await api(`http://127.0.0.1:${port}`, 'GET', '/channels/default')).json.data.workers, 2);
      assert.ok(logFileRecords(path.join(logDir, 'coyotes.log')).some((record) => record.event === 'started'));
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await redis.stop();
      rmSync(logDir, { recursive: true, force: true });
    }
  });
});

describe('task-job queue, control queue and logs list against a real Coyotes', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let dir: string;
  const LOGS = 'queue_job_task_logs';

  before(async () => {
    dir = makeCmdDir();
    redis = await startRedis();
    const config = writeConfig(dir, { redis_addr: redis.addr, queue_name: 'queue_job_task', logs: true, cmd_dir: dir });
    // one worker in the default channel: task-job's FIFO order is visible, and a task waits behind a running one
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-config', config, '-concurrent', '1'] });
    assert.equal((await api(coyotes.baseUrl, 'POST', '/channels', { name: 'task_list', worker: '2' })).status, 200);
  });
  after(async () => {
    await stopLeavingNothing(coyotes);
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a task runs in cmd_dir with its arguments; its lines and done are TaskLog records, in order', async () => {
    await redis.client.rpush('queue_job_task', task('run-1', 'args.sh', ['feature/x', 'two words', '']));
    const records = await finishedLogs(redis, LOGS, 'run-1');
    assert.deepEqual(
      records.filter((r) => r.msg_type === 'stdout').map((r) => r.data),
      [`cwd=${dir}`, 'arg=feature/x', 'arg=two words', 'arg=', 'last line'],
    );
    assert.deepEqual(
      records.filter((r) => r.msg_type === 'stderr').map((r) => r.data),
      ['to stderr'],
    );
    assert.deepEqual(records.at(-1), { id: 'run-1', type: 'deploy', child_num: 0, msg_type: 'done', data: 'exit 0' });
    // task-job's bytes: Go's MarshalIndent with four spaces
    const raw = (await redis.client.lrange(LOGS, 0, -1)).find((r) => r.includes('"run-1"') && r.includes('"done"'));
    assert.equal(
      raw,
      '{\n    "id": "run-1",\n    "type": "deploy",\n    "child_num": 0,\n    "msg_type": "done",\n    "data": "exit 0"\n}',
    );
    // the id is the Coyotes task id: HTTP finds it, with the line task-job joined
    const detail = (await api(coyotes.baseUrl, 'GET', '/tasks/run-1')).json.data;
    assert.equal(detail.status, 'succeeded');
    assert.equal(detail.channel, 'default');
    assert.equal(detail.task_name, 'args.sh feature/x two words ');
    assert.deepEqual(detail.command, { name: 'bash', args: [path.join(dir, 'args.sh'), 'feature/x', 'two words', ''] });
  });

  test('tasks run in the order they were pushed (FIFO), each once', async () => {
    const out = path.join(dir, 'order.txt');
    const ids = Array.from({ length: 8 }, (_, i) => `fifo-${i}`);
    await redis.client.rpush('queue_job_task', ...ids.map((id) => task(id, 'append.sh', [id, out])));
    await waitFor(
      'every task',
      async () => (await Promise.all(ids.map((id) => statusOf(coyotes, id)))).every((s) => s === 'succeeded'),
      DEADLINE_MS,
      100,
    );
    assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), ids);
  });

  test('timeout in seconds kills the task; ≤ 0 means none', async () => {
    await redis.client.rpush('queue_job_task', task('slow-1', 'sleep.sh', ['30'], {}, 1), task('quick-0', 'sleep.sh', ['0.2'], {}, -1));
    const records = await finishedLogs(redis, LOGS, 'slow-1');
    assert.match(records.at(-1)!.data, /^signal SIG(TERM|KILL) \(timeout\)$/);
    assert.equal((await api(coyotes.baseUrl, 'GET', '/tasks/slow-1')).json.data.timeout, 1);
    assert.equal((await finishedLogs(redis, LOGS, 'quick-0')).at(-1)!.data, 'exit 0');
    assert.equal((await api(coyotes.baseUrl, 'GET', '/tasks/quick-0')).json.data.timeout, null);
  });

  test('a kill on the control queue kills the whole tree (grandchildren too), then done; a queued task is cancelled', async () => {
    const pidsFile = path.join(dir, 'tree.pids');
    const marker = path.join(dir, 'queued-ran.txt');
    await redis.client.rpush('queue_job_task', task('tree-1', 'tree.sh', [pidsFile]), task('queued-1', 'append.sh', ['ran', marker]));
    const pids = await treePids(pidsFile, DEADLINE_MS);
    try {
      // one worker: queued-1 waits behind the tree (the entry that wakes the bridge goes in alone, the rest a round later)
      await waitFor('queued-1 accepted', async () => (await statusOf(coyotes, 'queued-1')) !== undefined, DEADLINE_MS, 20);
      assert.equal(await statusOf(coyotes, 'queued-1'), 'queued');
      await redis.client.rpush('queue_job_task_control', JSON.stringify({ id: 'queued-1', type: 'kill' }));
      await waitFor('queued-1 cancelled', async () => (await statusOf(coyotes, 'queued-1')) === 'cancelled', DEADLINE_MS, 100);
      await redis.client.rpush('queue_job_task_control', JSON.stringify({ id: 'tree-1', type: 'kill' }));
      await allGone(pids, DEADLINE_MS);
      const records = await finishedLogs(redis, LOGS, 'tree-1');
      assert.match(records.at(-1)!.data, /^signal SIG(TERM|KILL) \(killed\)$/);
      assert.equal(await statusOf(coyotes, 'tree-1'), 'failed');
    } finally {
      killAll(pids);
    }
    // the next task runs: the cancelled one never did
    await redis.client.rpush('queue_job_task', task('after-kill', 'sleep.sh', ['0']));
    await finishedLogs(redis, LOGS, 'after-kill');
    assert.equal(existsSync(marker), false);
    assert.deepEqual(await logsOf(redis, LOGS, 'queued-1'), []);
  });

  test('tube picks the channel when it names one, the default channel otherwise', async () => {
    await redis.client.rpush(
      'queue_job_task',
      task('tube-1', 'sleep.sh', ['0'], { tube: 'task_list' }),
      task('tube-2', 'sleep.sh', ['0'], { tube: 'no_such' }),
    );
    await finishedLogs(redis, LOGS, 'tube-1');
    await finishedLogs(redis, LOGS, 'tube-2');
    assert.equal((await api(coyotes.baseUrl, 'GET', '/tasks/tube-1')).json.data.channel, 'task_list');
    assert.equal((await api(coyotes.baseUrl, 'GET', '/tasks/tube-2')).json.data.channel, 'default');
  });

  test('entries that are not task-job records go to the dead letters with the reason; the queue goes on', async () => {
    const bad: [string, RegExp][] = [
      ['not json', /not valid JSON/],
      [JSON.stringify({ id: 'b1', task: 'echo hi' }), /task must be an object/],
      [JSON.stringify({ id: 'b2', task: { cmd_args: [] } }), /task\.cmdline must be a non-empty string/],
      [JSON.stringify({ id: 'b3', task: { cmdline: '../../etc/x.sh' } }), /leads outside cmd_dir/],
      [JSON.stringify({ id: 'b4', task: { cmdline: 'a.sh', cmd_args: [1] } }), /cmd_args must be an array of strings/],
      [JSON.stringify({ id: 'b5', task: { cmdline: 'a.sh', timeout: 'soon' } }), /task\.timeout must be a number/],
      [JSON.stringify({ task: { cmdline: 'a.sh' } }), /id must be a string/],
      [JSON.stringify({ id: 'b6', priority: 1, task: { cmdline: 'a.sh' } }), /unknown field "priority"/],
    ];
    await redis.client.rpush('queue_job_task', ...bad.map(([payload]) => payload), task('good-after-bad', 'sleep.sh', ['0']));
    const controls: [string, RegExp][] = [
      ['kill 101', /control queue queue_job_task_control: not valid JSON/],
      [JSON.stringify({ id: 'good-after-bad', type: 'pause' }), /type must be "kill"/],
      [JSON.stringify({ id: 'never-pushed', type: 'kill' }), /no task has id never-pushed/],
    ];
    await redis.client.rpush('queue_job_task_control', ...controls.map(([payload]) => payload));
    assert.equal((await finishedLogs(redis, LOGS, 'good-after-bad')).at(-1)!.data, 'exit 0');
    for (const [payload, reason] of [...bad, ...controls]) assert.match((await deadLetterFor(coyotes, payload)).reason, reason);
  });

  test('the HTTP API and the CLI see task-job tasks like any other (coyotes kill ends one, done follows)', async () => {
    await redis.client.rpush('queue_job_task', task('shown-1', 'sleep.sh', ['60']));
    await waitFor('shown-1 running', async () => (await statusOf(coyotes, 'shown-1')) === 'running', DEADLINE_MS, 100);
    const listed = (await api(coyotes.baseUrl, 'GET', '/channels/default')).json.data.tasks as { task_id?: string; id?: string }[];
    assert.ok(JSON.stringify(listed).includes('shown-1'), JSON.stringify(listed).slice(0, 500));
    const cli = spawnSync(process.execPath, [BIN, 'kill', 'shown-1', '--addr', coyotes.httpAddr], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match((await finishedLogs(redis, LOGS, 'shown-1')).at(-1)!.data, /\(killed\)$/);
  });
});

describe('task-job logs_http: the same records POSTed, at least once, in order, never holding a command up', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let server: Server;
  let dir: string;
  const received: TaskLog[] = [];
  let accepting = false;

  before(async () => {
    dir = makeCmdDir();
    redis = await startRedis();
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (!accepting) {
          response.writeHead(503).end();
          return;
        }
        received.push(JSON.parse(body) as TaskLog);
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const config = writeConfig(dir, { redis_addr: redis.addr, logs: true, logs_http: `http://127.0.0.1:${port}/logs`, cmd_dir: dir });
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-config', config] });
  });
  after(async () => {
    await stopLeavingNothing(coyotes);
    await redis.stop();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  test('an endpoint that refuses at first gets every record later, in order; the task finished meanwhile', async () => {
    await redis.client.rpush('queue_job_task', task('http-1', 'args.sh', ['a', 'b']));
    // the command ends and is recorded while the endpoint refuses everything
    await waitFor('http-1 to finish', async () => (await statusOf(coyotes, 'http-1')) === 'succeeded', DEADLINE_MS, 100);
    assert.equal(received.length, 0);
    accepting = true;
    await waitFor('the done record over HTTP', () => received.some((r) => r.msg_type === 'done'), DEADLINE_MS, 100);
    const listed = await logsOf(redis, 'queue_job_task_logs', 'http-1');
    // the same records as the list, in the same order (stdout lines in the order printed, done last)
    assert.deepEqual(received, listed);
    assert.deepEqual(
      received.filter((r) => r.msg_type === 'stdout').map((r) => r.data),
      [`cwd=${dir}`, 'arg=a', 'arg=b', 'last line'],
    );
    assert.equal(received.at(-1)!.data, 'exit 0');
  });
});

describe('two masters on one Redis with the same task-job config', () => {
  let redis: TestRedis;
  let masters: RunningCoyotes[] = [];
  let dir: string;

  before(async () => {
    dir = makeCmdDir();
    redis = await startRedis();
    const config = writeConfig(dir, { redis_addr: redis.addr, cmd_dir: dir, logs: false });
    masters = [
      await startCoyotes({ redisAddr: redis.addr, args: ['-config', config, '-concurrent', '3'] }),
      await startCoyotes({ redisAddr: redis.addr, args: ['-config', config, '-concurrent', '3'] }),
    ];
  });
  after(async () => {
    await Promise.all(masters.map((m) => stopLeavingNothing(m)));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every task runs exactly once', async () => {
    const out = path.join(dir, 'ran.txt');
    const ids = Array.from({ length: 30 }, (_, i) => `twice-${i}`);
    for (const id of ids) await redis.client.rpush('queue_job_task', task(id, 'append.sh', [id, out]));
    await waitFor(
      'every task',
      async () => (await Promise.all(ids.map((id) => statusOf(masters[0]!, id)))).every((s) => s === 'succeeded'),
      DEADLINE_MS,
      200,
    );
    const ran = readFileSync(out, 'utf8').trim().split('\n');
    assert.deepEqual([...ran].sort(), [...ids].sort());
    // logs: false writes no record
    assert.equal(await redis.client.llen('queue_job_task_logs'), 0);
  });

  test('a kill reaches the task on whichever host runs it', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `far-${i}`);
    for (const id of ids) await redis.client.rpush('queue_job_task', task(id, 'sleep.sh', ['120']));
    const detail = async (id: string) => (await api(masters[0]!.baseUrl, 'GET', `/tasks/${id}`)).json.data;
    await waitFor(
      'every task running',
      async () => (await Promise.all(ids.map(detail))).every((d) => d?.status === 'running'),
      DEADLINE_MS,
      200,
    );
    await redis.client.rpush('queue_job_task_control', ...ids.map((id) => JSON.stringify({ id, type: 'kill' })));
    const ended = await waitFor(
      'every task killed',
      async () => {
        const all = await Promise.all(ids.map(detail));
        return all.every((d) => d?.status === 'failed') ? all : undefined;
      },
      DEADLINE_MS,
      200,
    );
    for (const d of ended) assert.equal(d.result.outcome, 'killed', d.task_id);
    // six tasks on two masters of three slots each: both hosts ran (and killed) some
    assert.equal(new Set(ended.map((d) => d.result.node_id)).size, 2);
  });
});
