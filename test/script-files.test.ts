import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const NOBODY = userInfo({ encoding: 'utf8' }).uid === 0 ? 65534 : null;
const FINAL = new Set(['succeeded', 'failed']);

/** Prints where the script lives and who owns what: `<dir> <dir uid> <dir mode> <file uid> <file mode> <uid>`. */
const WHERE = 'd=$(dirname "$0"); echo "$d $(stat -c "%u %a" "$d") $(stat -c "%u %a" "$0") $(id -u)"\n';

/** A command root as /tmp is (sticky, writable by all) where a hostile local user prepared the old script directory. */
function hostileRoot(kind: 'directory' | 'symlink'): { root: string; planted: string } {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'coyotes-script-root-')));
  chmodSync(root, 0o1777);
  const planted = path.join(root, 'attacker');
  mkdirSync(planted, { mode: 0o777 });
  chmodSync(planted, 0o777);
  chownSync(planted, NOBODY!, NOBODY!);
  if (kind === 'directory') chownSync(root, 0, 0);
  const old = path.join(root, '.coyotes-scripts');
  if (kind === 'directory') {
    mkdirSync(old, { mode: 0o777 });
    chmodSync(old, 0o777);
    chownSync(old, NOBODY!, NOBODY!);
  } else {
    symlinkSync(planted, old);
    chownSync(root, 0, 0);
  }
  return { root, planted: kind === 'directory' ? old : planted };
}

describe('uploaded scripts are written where no other local user can replace them', { skip: NOBODY === null && 'needs root' }, () => {
  let redis: TestRedis;
  const servers: RunningCoyotes[] = [];

  const runScript = async (coyotes: RunningCoyotes, body: string) => {
    const { status, json } = await api(coyotes.baseUrl, 'POST', '/channels/default/tasks', { command: 'sh', script: body });
    assert.equal(status, 200, json.message);
    return waitFor(
      'the script task to finish',
      async () => {
        const { json: task } = await api(coyotes.baseUrl, 'GET', `/tasks/${json.data.task_id}`);
        return FINAL.has(task.data?.status) ? task.data : undefined;
      },
      20_000,
    );
  };
  const start = async (args: string[]) => {
    const coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '1', ...args] });
    servers.push(coyotes);
    return coyotes;
  };

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const server of servers) await server.stop('SIGTERM');
    await redis?.stop();
  });

  for (const kind of ['directory', 'symlink'] as const) {
    test(`a pre-created ${kind} at the old shared path is never used: the script runs from a private directory of its own`, async () => {
      const { root, planted } = hostileRoot(kind);
      const coyotes = await start(['-command-root', root]);
      const task = await runScript(coyotes, WHERE);
      assert.equal(task.status, 'succeeded', task.result?.error);
      const [dir, dirUid, dirMode, fileUid, fileMode, uid] = task.result.stdout_tail.trim().split(' ');
      assert.equal(path.dirname(dir), root, 'inside the command root');
      assert.match(path.basename(dir), /^\.coyotes-script-\w{6}$/);
      assert.deepEqual([dirUid, dirMode, fileUid, fileMode, uid], ['0', '700', '0', '500', '0']);
      assert.deepEqual(readdirSync(planted), [], 'nothing written where the other user can reach');
      assert.deepEqual(
        readdirSync(root).filter((name) => name.startsWith('.coyotes-script-')),
        [],
        'removed after the run',
      );
      await coyotes.stop('SIGTERM');
    });
  }

  test('with -run-as the command reads its script (owned by it) from a directory only its group may enter', async () => {
    const { root } = hostileRoot('directory');
    const coyotes = await start(['-command-root', root, '-run-as', 'nobody']);
    const task = await runScript(coyotes, WHERE);
    assert.equal(task.status, 'succeeded', task.result?.error);
    const [, dirUid, dirMode, fileUid, fileMode, uid] = task.result.stdout_tail.trim().split(' ');
    assert.deepEqual([dirUid, dirMode, fileUid, fileMode, uid], ['0', '710', String(NOBODY), '500', String(NOBODY)]);
    await coyotes.stop('SIGTERM');
  });

  test('a command root others may write in without the sticky bit: the script task fails with the reason, nothing runs', async () => {
    const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'coyotes-script-open-')));
    chmodSync(root, 0o777);
    const coyotes = await start(['-command-root', root]);
    const task = await runScript(coyotes, 'echo should-not-run\n');
    assert.equal(task.status, 'failed');
    assert.equal(task.result.outcome, 'spawn-error');
    assert.match(task.result.error, /writable by other users without the sticky bit/);
    assert.equal(task.result.stdout_tail, '');
    assert.ok(coyotes.logs().some((record) => record.event === 'task-unstartable' && /sticky/.test(String(record.reason))));
    await coyotes.stop('SIGTERM');
  });
});
