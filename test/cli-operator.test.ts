import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { api, BIN, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const ESC = String.fromCharCode(27);
/** An SGR escape sequence: what a color looks like in the output. */
const COLOR = new RegExp(`${ESC}\\[\\d+(;\\d+)*m`);
/** A word in red, as picocolors writes it (red on, then default foreground). */
const RED_FAILED = `${ESC}[31mfailed${ESC}[39m`;

/**
 * The operator's day (issue #20): every task findable from the CLI, every outcome said, channel
 * settings visible, dead letters acted on, colors only on a terminal, one spelling of JSON keys.
 */
describe('the operator at the command line', () => {
  let redis: TestRedis;
  let server: RunningCoyotes;
  let base: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-operator-'));
  /** The environment a verb runs with: no color decision inherited from whoever runs the tests. */
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const clean = { ...process.env, COYOTES_ADDR: server.httpAddr };
    for (const name of ['NO_COLOR', 'FORCE_COLOR', 'NODE_DISABLE_COLORS', 'CI']) delete clean[name];
    return { ...clean, TERM: 'xterm', ...extra };
  };
  /** Runs a verb of the real binary, stdout and stderr pipes (no terminal). */
  const verb = async (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: env(extra), timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  /** Runs a verb under a pseudo-terminal (util-linux script(1)): stdout and stderr are a TTY, merged. */
  const verbOnTerminal = async (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const line = [process.execPath, BIN, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
    try {
      const { stdout } = await run('script', ['-qefc', line, '/dev/null'], { env: env(extra), timeout: 60_000 });
      return { code: 0, output: stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string };
      return { code: failed.code, output: failed.stdout };
    }
  };
  const push = async (channel: string, fields: Record<string, string | string[]>): Promise<string> => {
    const { json } = await api(base, 'POST', `/channels/${channel}/tasks`, fields);
    assert.equal(json.status_code, 200, json.message);
    return json.data.task_id as string;
  };
  const finished = (id: string) =>
    waitFor(
      `task ${id} to finish`,
      async () => {
        const { data } = (await api(base, 'GET', `/tasks/${id}`)).json;
        return ['succeeded', 'failed', 'cancelled'].includes(data.status) && data;
      },
      30_000,
    );

  before(async () => {
    redis = await startRedis();
    server = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '2'] });
    base = server.baseUrl;
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await redis?.stop();
  });

  test('tasks lists every state and filters by channel and state; show tells one task whole', async () => {
    await api(base, 'POST', '/channels', { name: 'ops', worker: '2' });
    const failed = await push('ops', { command: 'sh', args: ['-c', 'echo before-failing; exit 2'] });
    const done = await push('ops', { command: 'echo', args: ['all good'] });
    const delayed = await push('ops', { command: 'true', delay: '3600' });
    await finished(failed);
    await finished(done);

    const byState = await verb(['tasks', '-c', 'ops', '--state', 'failed']);
    assert.equal(byState.code, 0, byState.stderr);
    const rows = byState.stdout.trim().split('\n');
    assert.match(rows[0]!, /^ID\s+CHANNEL\s+STATE\s+ENDED \/ WAITING\s+TOOK\s+COMMAND$/);
    assert.equal(rows.length, 2, byState.stdout);
    assert.match(rows[1]!, new RegExp(`^${failed}\\s+ops\\s+failed\\s+exit code 2\\s+\\S.*\\s+sh -c 'echo before-failing; exit 2'$`));

    const all = await verb(['tasks', '-c', 'ops']);
    assert.match(all.stdout, new RegExp(`^${delayed}\\s+ops\\s+delayed\\s+until `, 'm'));
    assert.match(all.stdout, new RegExp(`^${done}\\s+ops\\s+succeeded\\s+exit code 0\\s+.*echo 'all good'$`, 'm'));
    assert.match(all.stdout, new RegExp(`^${failed}\\s+ops\\s+failed\\s`, 'm'));
    const doneOnly = JSON.parse((await verb(['tasks', '-c', 'ops', '--state', 'done', '--json'])).stdout) as {
      count: number;
      items: { task_id: string }[];
    };
    assert.deepEqual(
      doneOnly.items.map((item) => item.task_id),
      [done],
    );
    assert.equal(doneOnly.count, 1);
    assert.equal((await verb(['tasks', '--state', 'finished'])).code, 2);
    assert.equal((await api(base, 'GET', '/tasks?state=finished')).status, 400);

    const shown = await verb(['show', failed]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^task\\s+${failed}$`, 'm'));
    assert.match(shown.stdout, /^command\s+sh -c 'echo before-failing; exit 2'$/m);
    assert.match(shown.stdout, /^state\s+failed$/m);
    assert.match(shown.stdout, /^ended\s+exit code 2 \(exit 2\)$/m);
    assert.match(shown.stdout, /^started\s+\d{4}-\d\d-\d\dT/m);
    assert.match(shown.stdout, /^finished\s+\d{4}-\d\d-\d\dT/m);
    assert.match(shown.stdout, /^node\s+\S+ \(\S+\), pid \d+$/m);
    assert.match(shown.stdout, /^attempts\s+1 \(0 retries\)$/m);
    assert.match(shown.stdout, /--- stdout \(last lines\) ---\nbefore-failing\n$/);
    assert.equal((await verb(['show', 'no-such-task'])).code, 1);
  });

  test('argv is shown shell-quoted (API task_name, show, tasks) and a long one is cut in the list', async () => {
    const id = await push('ops', { command: 'sh', args: ['-c', 'while :; do :; done'], delay: '3600' });
    const detail = (await api(base, 'GET', `/tasks/${id}`)).json.data;
    assert.equal(detail.task_name, "sh -c 'while :; do :; done'");
    assert.equal(detail.command_line, "sh -c 'while :; do :; done'");
    const pushed = await verb(['push', '-c', 'ops', '--delay', '3600', '--json', '--', 'printf', '%s\n', 'a b', "it's"]);
    assert.equal(JSON.parse(pushed.stdout).task_name, `printf '%s\n' 'a b' 'it'"'"'s'`);

    const long = await push('ops', { command: 'echo', args: ['x'.repeat(5000)], delay: '3600' });
    const listed = await verb(['tasks', '-c', 'ops', '--state', 'delayed']);
    const row = listed.stdout.split('\n').find((line) => line.startsWith(long));
    assert.ok(row, listed.stdout);
    assert.match(row, /echo x+…$/);
    assert.ok(row.length < 200, `row is ${row.length} characters`);
  });

  test('push --wait and logs -f end with one outcome line and the task code; a paused channel is said', async () => {
    const failing = await verb(['push', '--wait', '-c', 'ops', '--', 'sh', '-c', 'echo out; exit 2']);
    assert.equal(failing.code, 2);
    assert.equal(failing.stdout, 'out\n');
    const last = failing.stderr.trimEnd().split('\n').at(-1)!;
    assert.match(last, /^coyotes: task \S+ failed: exit code 2 after \d+(\.\d)? m?s \(exit 2\)$/);

    const timedOut = await verb(['push', '--wait', '--timeout', '1', '-c', 'ops', '--', 'sleep', '30']);
    assert.equal(timedOut.code, 124);
    assert.match(timedOut.stderr, /^coyotes: task \S+ failed: timed out after its 1 s timeout \(SIG[A-Z]+\) after .* \(exit 124\)$/m);

    const sleeper = await push('ops', { command: 'sleep', args: ['30'] });
    const following = verb(['logs', '-f', sleeper]);
    await waitFor('it to run', async () => (await api(base, 'GET', `/tasks/${sleeper}`)).json.data.status === 'running');
    await api(base, 'POST', `/tasks/${sleeper}/kill`);
    // SIGTERM first (sleep dies of it: 143), SIGKILL after -kill-grace (137)
    const killed = await following;
    const signal = (await finished(sleeper)).result.signal as 'SIGTERM' | 'SIGKILL';
    const code = { SIGTERM: 143, SIGKILL: 137 }[signal];
    assert.equal(killed.code, code);
    assert.match(
      killed.stderr,
      new RegExp(`^coyotes: task ${sleeper} failed: killed on request \\(${signal}\\) after .* \\(exit ${code}\\)$`, 'm'),
    );

    const exitsTwo = await push('ops', { command: 'sh', args: ['-c', 'sleep 1; echo bye; exit 2'] });
    const logs = await verb(['logs', '-f', exitsTwo]);
    assert.equal(logs.code, 2);
    assert.equal(logs.stdout, 'bye\n');
    assert.match(
      logs.stderr.trimEnd().split('\n').at(-1)!,
      new RegExp(`^coyotes: task ${exitsTwo} failed: exit code 2 after .* \\(exit 2\\)$`),
    );

    await api(base, 'POST', '/channels', { name: 'held', paused: 'true' });
    const marker = path.join(dir, 'held-ran');
    const child = spawn(process.execPath, [BIN, 'push', '--wait', '-c', 'held', '--', 'touch', marker], { env: env() });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await waitFor('the wait to be explained', () => stderr.includes('is paused'), 30_000);
    assert.match(
      stderr,
      /^coyotes: waiting: channel held is paused: task \S+ starts once it is resumed \(coyotes channels resume held\)$/m,
    );
    await api(base, 'PATCH', '/channels/held', { paused: 'false' });
    assert.equal(await exited, 0);
    assert.ok(existsSync(marker));
    assert.equal(stderr.split('is paused').length - 1, 1, stderr);
    assert.match(stderr, /succeeded: exit code 0 after .* \(exit 0\)\n$/);

    // behind a busy slot: said once it has stayed busy, then the outcome
    await api(base, 'POST', '/channels', { name: 'narrow', worker: '1' });
    const blocker = await push('narrow', { command: 'sleep', args: ['60'] });
    await waitFor('the blocker to run', async () => (await api(base, 'GET', `/tasks/${blocker}`)).json.data.status === 'running');
    const behind = spawn(process.execPath, [BIN, 'push', '--wait', '-c', 'narrow', '--', 'true'], { env: env() });
    let behindErr = '';
    behind.stderr.on('data', (chunk: Buffer) => (behindErr += chunk.toString()));
    const behindExited = new Promise<number | null>((resolve) => behind.on('exit', resolve));
    await waitFor('the queue to be explained', () => behindErr.includes('waiting'), 30_000);
    assert.match(behindErr, /^coyotes: waiting: task \S+ is queued in narrow: 1 running of 1 per host, 1 queued$/m);
    await api(base, 'POST', `/tasks/${blocker}/kill`);
    assert.equal(await behindExited, 0);
    assert.equal(behindErr.split('waiting').length - 1, 1, behindErr);
  });

  test('colors on a terminal only; NO_COLOR turns them off, FORCE_COLOR on', async () => {
    const id = await push('ops', { command: 'sh', args: ['-c', 'exit 3'] });
    await finished(id);
    const onTerminal = await verbOnTerminal(['show', id]);
    assert.equal(onTerminal.code, 0, onTerminal.output);
    assert.ok(onTerminal.output.includes(RED_FAILED), JSON.stringify(onTerminal.output));
    const waited = await verbOnTerminal(['push', '--wait', '-c', 'ops', '--', 'sh', '-c', 'exit 3']);
    assert.equal(waited.code, 3);
    assert.match(waited.output, new RegExp(`coyotes: task \\S+ ${RED_FAILED.replace(/\[/g, '\\[')}: exit code 3`));

    const noColor = await verbOnTerminal(['show', id], { NO_COLOR: '1' });
    assert.match(noColor.output, /^state\s+failed\r?$/m);
    assert.doesNotMatch(noColor.output, COLOR);
    const piped = await verb(['show', id]);
    assert.doesNotMatch(piped.stdout + piped.stderr, COLOR);
    const forced = await verb(['show', id], { FORCE_COLOR: '1' });
    assert.ok(forced.stdout.includes(RED_FAILED), JSON.stringify(forced.stdout));
    const forcedOff = await verbOnTerminal(['show', id], { FORCE_COLOR: '0' });
    assert.doesNotMatch(forcedOff.output, COLOR);
  });

  test('--json prints the API spelling (task_id), never camelCase', async () => {
    const pushed = await verb(['push', '--json', '-c', 'ops', '--', 'true']);
    const answer = JSON.parse(pushed.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(answer), ['task_id', 'task_name', 'result']);
    await finished(answer.task_id as string);
    for (const args of [
      ['show', answer.task_id as string],
      ['tasks', '-c', 'ops'],
      ['logs', answer.task_id as string],
    ]) {
      const { stdout } = await verb([...args, '--json']);
      const keys = [...stdout.matchAll(/"([^"]+)":/g)].map((match) => match[1]!);
      assert.deepEqual(
        keys.filter((key) => /[a-z][A-Z]/.test(key)),
        [],
        args.join(' '),
      );
    }
  });

  test('channels create refuses an existing channel unless --update; ls, GET /channels/{name}, /stats and PATCH show settings', async () => {
    const created = await verb(['channels', 'create', 'tuned', '-w', '3', '--max-retries', '2', '--timeout', '30', '--distinct']);
    assert.equal(created.stdout, 'created tuned\n');
    const again = await verb(['channels', 'create', 'tuned', '-w', '9']);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'coyotes: channel tuned exists already: nothing changed (add --update to change its settings)\n');
    const updated = await verb(['channels', 'create', 'tuned', '-w', '4', '--update']);
    assert.equal(updated.stdout, 'updated tuned\n');

    const patched = await api(base, 'PATCH', '/channels/tuned', { allowed_commands: ['echo', 'php*'], global_workers: '6' });
    const settings = {
      worker: 4,
      distinct: true,
      max_retries: 2,
      timeout: 30,
      shell: false,
      global_workers: 6,
      allowed_commands: ['echo', 'php*'],
    };
    assert.deepEqual(patched.json.data, { name: 'tuned', workers: 4, worker: 4, paused: false, ...settings });
    // no camelCase or ms any more
    assert.deepEqual(
      Object.keys(patched.json.data).filter((key) => /[a-z][A-Z]/.test(key)),
      [],
    );
    const one = (await api(base, 'GET', '/channels/tuned')).json.data;
    // the seed's fields first, as the seed printed them
    assert.deepEqual(Object.keys(one).slice(0, 2), ['tasks', 'count']);
    for (const [name, value] of Object.entries(settings)) assert.deepEqual(one[name], value, name);
    const row = (await api(base, 'GET', '/stats')).json.data.channels.find((c: { name: string }) => c.name === 'tuned');
    for (const [name, value] of Object.entries(settings)) assert.deepEqual(row[name], value, name);

    const ls = await verb(['channels', 'ls']);
    assert.match(ls.stdout, /^CHANNEL\s+WORKERS\s+GLOBAL\s+MAX RETRIES\s+TIMEOUT\s+DISTINCT\s+SHELL\s+STATE\s+ALLOWED COMMANDS$/m);
    assert.match(ls.stdout, /^tuned\s+4\s+6\s+2\s+30 s\s+yes\s+no\s+active\s+echo php\*$/m);
  });

  test('dead letters: ls shows ids, requeue goes through the door again, rm removes; both 404 once gone', async () => {
    await api(base, 'POST', '/channels', { name: 'guarded', allowed_commands: 'echo' });
    const marker = path.join(dir, 'requeued-ran');
    await redis.client.lpush(keys.prepareQueue, JSON.stringify({ task: `touch ${marker}`, chan: 'guarded' }));
    await redis.client.lpush(keys.prepareQueue, 'not json at all');
    const letters = await waitFor('both entries dead-lettered', async () => {
      const { data } = (await api(base, 'GET', '/dead-letters')).json;
      return data.count >= 2 && (data.items as { id: string; payload: string; reason: string }[]);
    });
    const refused = letters.find((letter) => letter.payload.includes(marker))!;
    const garbage = letters.find((letter) => letter.payload === 'not json at all')!;
    assert.match(refused.reason, /allowed_commands/);

    const ls = await verb(['dead-letters', 'ls']);
    assert.match(ls.stdout, /^ID\s+AT\s+REASON\s+PAYLOAD$/m);
    assert.match(ls.stdout, new RegExp(`^${garbage.id}\\s+\\S+\\s+.*not json at all$`, 'm'));

    // still refused: requeued, it comes back as a new letter with the reason
    const bounced = await verb(['dead-letters', 'requeue', refused.id]);
    assert.equal(bounced.code, 0, bounced.stderr);
    await waitFor('it to be refused again', async () =>
      ((await api(base, 'GET', '/dead-letters')).json.data.items as { payload: string }[]).some((l) => l.payload.includes(marker)),
    );
    assert.equal(existsSync(marker), false);
    await api(base, 'PATCH', '/channels/guarded', { allowed_commands: '' });
    const again = ((await api(base, 'GET', '/dead-letters')).json.data.items as { id: string; payload: string }[]).find((l) =>
      l.payload.includes(marker),
    )!;
    const requeued = await verb(['dead-letters', 'requeue', again.id]);
    assert.equal(requeued.stdout, `requeued ${again.id} (into the prepare queue)\n`);
    await waitFor('the requeued entry to run', () => existsSync(marker), 30_000);

    const removed = await verb(['dead-letters', 'rm', garbage.id]);
    assert.equal(removed.stdout, `removed ${garbage.id}\n`);
    const after = (await api(base, 'GET', '/dead-letters')).json.data.items as { id: string }[];
    assert.ok(!after.some((letter) => letter.id === garbage.id || letter.id === again.id));
    const gone = await api(base, 'DELETE', `/dead-letters/${garbage.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.code, 'COY_ERR_DEAD_LETTER_NOT_FOUND');
    assert.equal((await api(base, 'POST', `/dead-letters/${garbage.id}`)).status, 404);
    assert.equal((await verb(['dead-letters', 'rm', garbage.id])).code, 1);
  });
});
