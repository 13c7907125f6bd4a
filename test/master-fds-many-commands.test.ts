import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { childrenOf, isAlive } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

/** Master's open-files limit, soft and hard (Node raises a soft limit to the hard one at start). */
const LIMIT = 256;
/** More running commands than master may open files: sampling must not hold one per command. */
const COMMANDS = 300;

const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

describe(`master sampling ${COMMANDS} running commands under a limit of ${LIMIT} open files`, () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  const leaders: number[] = [];

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr });
    assert.equal((await api(coyotes.baseUrl, 'POST', '/channels', { name: 'wide', worker: String(COMMANDS) })).status, 200);
    // the channel process starts before the limit is lowered, and keeps the host's: only master's is under test
    await waitFor('the channel process', async () => (await api(coyotes.baseUrl, 'GET', '/channels/wide')).json.data?.process?.alive);
    execFileSync('prlimit', [`--pid=${coyotes.pid}`, `--nofile=${LIMIT}:${LIMIT}`]);
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    for (const pid of leaders) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await redis?.stop();
  });

  test('every command is sampled, master stays far from the limit, and a new push still runs', async (t) => {
    const baseline = openFds(coyotes.pid);
    for (let first = 0; first < COMMANDS; first += 50) {
      const batch = Array.from({ length: Math.min(50, COMMANDS - first) }, () =>
        api(coyotes.baseUrl, 'POST', '/channels/wide/tasks', { command: 'sleep', args: '300' }),
      );
      for (const pushed of await Promise.all(batch)) assert.equal(pushed.status, 200);
    }
    // a command is sampled once it has run one interval (2 s); its figures then hold its rss
    let mostFds = 0;
    let seen = 'nothing yet';
    const running = await waitFor(
      `${COMMANDS} running commands, each with its CPU and memory`,
      async () => {
        mostFds = Math.max(mostFds, openFds(coyotes.pid));
        const tasks = (await api(coyotes.baseUrl, 'GET', '/channels/wide')).json.data.tasks as {
          pid: number | null;
          rss: number | null;
          cpu: number | null;
        }[];
        const sampled = tasks.filter((task) => task.pid !== null && task.rss !== null && task.rss > 0 && typeof task.cpu === 'number');
        seen = `${tasks.length} running, ${sampled.length} with figures, master at ${mostFds} fds`;
        return sampled.length === COMMANDS && tasks;
      },
      75_000,
      500,
    ).catch((error: Error) => {
      throw new Error(`${error.message} (${seen})`);
    });
    leaders.push(...running.map((task) => task.pid!));
    // a few more samples with every command in them
    for (let i = 0; i < 6; i += 1) {
      mostFds = Math.max(mostFds, openFds(coyotes.pid));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const channelPid = (await api(coyotes.baseUrl, 'GET', '/channels/wide')).json.data.process.pid as number;
    const helper = childrenOf(channelPid).find((child) => child.cmd.includes('coyotes-spawner'));
    t.diagnostic(
      `open fds with ${COMMANDS} commands running: master ${mostFds} at most (${baseline} before), channel process ${openFds(channelPid)}` +
        (helper ? `, its coyotes-spawner ${openFds(helper.pid)}` : ' (node:child_process spawner)'),
    );
    assert.ok(mostFds < LIMIT / 2, `master held ${mostFds} fds (limit ${LIMIT}, ${baseline} before the commands)`);

    // every slot is taken: a new push waits, and runs once a command ends
    const pushed = await api(coyotes.baseUrl, 'POST', '/channels/wide/tasks', { command: 'echo', args: 'after' });
    assert.equal(pushed.status, 200);
    const id = pushed.json.data.task_id as string;
    process.kill(-leaders[0]!, 'SIGKILL');
    await waitFor(
      'the new push to run',
      async () => (await api(coyotes.baseUrl, 'GET', `/tasks/${id}`)).json.data?.status === 'succeeded',
      60_000,
    );
    assert.ok(isAlive(coyotes.pid));
    assert.equal((await api(coyotes.baseUrl, 'GET', '/health')).status, 200);
    assert.doesNotMatch(coyotes.output(), /EMFILE|too many open files/i);
  });
});
