import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { acquirePidfile } from '../packages/master/src/pidfile.js';
import { startCoyotes } from './helpers/coyotes.js';
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

  test('a pidfile held by a live process: COY_ERR_PIDFILE_LOCKED', () => {
    const pidfile = path.join(work, 'held.pid');
    writeFileSync(pidfile, `${process.ppid}\n`);
    assert.throws(() => acquirePidfile(pidfile), { code: 'COY_ERR_PIDFILE_LOCKED', message: new RegExp(`pid ${process.ppid}`) });
  });
});
