import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CoyotesError, newChannelConfig, parseIngressEntry, taskArgv, taskCwd } from '../src/index.js';

// the edges of the ingress parser and of argv/cwd that door.test.ts leaves out: no binary, no Redis

test('parseIngressEntry: ids, times and timeouts at their edges', () => {
  const input = (raw: string) => {
    const parsed = parseIngressEntry(raw);
    assert.ok(parsed.ok, `${raw}: ${JSON.stringify(parsed)}`);
    return parsed.input;
  };
  // a numeric id is kept as its decimal text; "channel" is the seed's other name for "chan"
  assert.deepEqual(input('{"task":"echo","id":42,"channel":"biz"}'), {
    id: '42',
    channel: 'biz',
    name: 'echo',
    command: undefined,
    executeAt: undefined,
  });
  // execute_at 0 or null: at once
  assert.equal(input('{"task":"echo","execute_at":0}').executeAt, undefined);
  assert.equal(input('{"task":"echo","execute_at":null}').executeAt, undefined);
  // task-job: a timeout of 0 or below is "no timeout"; "chan" stands for "tube"
  assert.equal(input('{"task":{"cmdline":"php","timeout":-1}}').timeoutMs, undefined);
  assert.equal(input('{"task":{"cmdline":"php","timeout":0}}').timeoutMs, undefined);
  assert.equal(input('{"chan":"cron","task":{"cmdline":"php","timeout":1.5}}').timeoutMs, 1500);
  assert.equal(input('{"chan":"cron","task":{"cmdline":"php"}}').channel, 'cron');
  // an empty id is kept, so the door's id rule refuses it (as over HTTP) rather than it reading as none
  assert.equal(input('{"task":"echo","id":""}').id, '');
  // a command's name alone makes the task's name, its arguments shell-quoted
  assert.equal(input('{"command":{"name":"echo","args":["a b"]}}').name, "echo 'a b'");
});

test('parseIngressEntry: what the first cases leave out is refused with the field named', () => {
  const reasons = [
    ['{"task":"x","id":null}', 'id must be a string'],
    ['{"task":"x","id":{"n":1}}', 'id must be a string'],
    ['{"task":"x","execute_at":"soon"}', 'execute_at must be a unix timestamp in seconds, at most ten years ahead'],
    ['{"task":"x","execute_at":-5}', 'execute_at must be a unix timestamp in seconds, at most ten years ahead'],
    ['{"command":"ls"}', 'command.name must be a non-empty string'],
    ['{"command":{"name":"ls","flags":1}}', 'unknown field command."flags" (takes name, args)'],
    ['{"command":{"name":"ls","args":[true]}}', 'command.args must be an array of strings'],
    ['{"task":{"cmdline":"x","retries":1}}', 'unknown field task."retries" (takes cmdline, cmd_args, timeout)'],
    ['{"task":{"cmdline":"x"},"priority":1}', 'unknown field "priority" (takes id, type, tube, chan, task)'],
    ['{"task":{"cmdline":"x","cmd_args":"-v"}}', 'task.cmd_args must be an array of strings'],
    ['{"tube":5,"task":{"cmdline":"x"}}', 'tube must be a string'],
    ['{"task":{"cmdline":"x","timeout":2592001}}', 'task.timeout must be a number of seconds, at most 2592000'],
    ['null', 'not a JSON object'],
    ['"echo"', 'not a JSON object'],
  ] as const;
  for (const [entry, reason] of reasons) assert.deepEqual(parseIngressEntry(entry), { ok: false, reason }, entry);
});

test('taskArgv: a command is exec’d as given even in a shell channel; a line that shlex cannot split is COY_ERR_TASK_INVALID', () => {
  const shell = newChannelConfig('s', 1, { shell: true });
  assert.deepEqual(taskArgv({ name: 'ignored', command: { name: 'ls', args: [] } }, shell), ['ls']);
  assert.throws(
    () => taskArgv({ name: 'echo "unclosed' }, newChannelConfig('c', 1)),
    (error: unknown) =>
      error instanceof CoyotesError && error.code === 'COY_ERR_TASK_INVALID' && /^task: cannot split command line/.test(error.message),
  );
});

test('taskCwd: inside the command root only, symlinks resolved first', () => {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'coyotes-cwd-')));
  mkdirSync(path.join(root, 'in'));
  symlinkSync(tmpdir(), path.join(root, 'out'));
  assert.equal(taskCwd(undefined, root), undefined);
  assert.equal(taskCwd('', root), undefined);
  assert.equal(taskCwd('in', root), path.join(root, 'in'));
  assert.equal(taskCwd('.', root), root);
  const refused = (cwd: string, message: string) => assert.throws(() => taskCwd(cwd, root), { code: 'COY_ERR_TASK_INVALID', message }, cwd);
  refused('out', `cwd out lies outside the command root ${root}`);
  refused('../', `cwd ../ lies outside the command root ${root}`);
  refused('missing', 'cwd missing does not exist');
  assert.throws(() => taskCwd('in', path.join(root, 'gone')), {
    code: 'COY_ERR_TASK_INVALID',
    message: `cwd in: the command root ${path.join(root, 'gone')} does not exist on this host`,
  });
  rmSync(root, { recursive: true, force: true });
});
