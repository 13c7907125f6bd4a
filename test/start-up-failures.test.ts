import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { checkOpenFilesLimit } from '../packages/cli/src/open-files.js';
import { acquirePidfile } from '../packages/master/src/pidfile.js';
import { BIN, startCoyotes } from './helpers/coyotes.js';
import { freePort } from './helpers/ports.js';
import { startRedis } from './helpers/redis.js';

/** When the port or the pidfile is taken: master ends with exit code 2 and one line, never a restart loop. */

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-start-up-'));

describe('start-up failures end master with exit code 2 and one line', () => {
  test('the HTTP port already taken: exit 2 with one clear line, no api process left retrying', async () => {
    const redis = await startRedis();
    const holder = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const coyotes = await startCoyotes({ redisAddr: redis.addr, httpPort: port, waitHttp: false });
      const status = await coyotes.exited;
      assert.equal(status.code, 2, coyotes.output());
      const lines = coyotes.output().trim().split('\n');
      assert.deepEqual(
        lines.filter((line) => /127\.0\.0\.1:\d+/.test(line)),
        [`coyotes: -http-addr 127.0.0.1:${port} is already in use by another process (stop that process or choose another -http-addr)`],
      );
    } finally {
      holder.close();
      await redis.stop();
    }
  });

  test('a very low ulimit -n: exit 2 naming too many open files and the limit, not a missing package or an api restart loop', async () => {
    const redis = await startRedis();
    try {
      // 20: Node's loader fails at once; 64: master starts and its api process dies loading its modules
      for (const limit of [20, 64]) {
        const port = await freePort();
        const args = ['-redis-host', redis.addr, '-http-addr', `127.0.0.1:${port}`, '-pidfile', path.join(work, `ulimit-${limit}.pid`)];
        const run = spawnSync('bash', ['-c', `ulimit -n ${limit}; exec node "$@"`, 'bash', BIN, ...args], {
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.equal(run.status, 2, `ulimit -n ${limit}: ${run.stderr}${run.stdout}`);
        assert.equal(
          run.stderr,
          `coyotes: too many open files (ulimit -n ${limit}): the server needs at least 256 ` +
            '(raise it: ulimit -n 65536 in the shell, LimitNOFILE= under systemd, minfds= in supervisord.conf)\n',
        );
        assert.equal(run.stdout, '');
      }
      // the check reads the soft limit from /proc/self/limits
      const limits = path.join(work, 'limits');
      writeFileSync(
        limits,
        'Limit                     Soft Limit           Hard Limit           Units\nMax open files            255                  4096                 files\n',
      );
      assert.throws(() => checkOpenFilesLimit(limits), { code: 'COY_ERR_PROCESS_OPEN_FILES', message: /ulimit -n 255/ });
      writeFileSync(limits, 'Max open files            256                  4096                 files\n');
      assert.doesNotThrow(() => checkOpenFilesLimit(limits));
    } finally {
      await redis.stop();
    }
  });

  test('a pidfile held by a live process: COY_ERR_PIDFILE_LOCKED', () => {
    const pidfile = path.join(work, 'held.pid');
    writeFileSync(pidfile, `${process.ppid}\n`);
    assert.throws(() => acquirePidfile(pidfile), { code: 'COY_ERR_PIDFILE_LOCKED', message: new RegExp(`pid ${process.ppid}`) });
  });
});
