import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { childrenOf, isAlive } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

interface ApiFigures {
  pid: number | null;
  alive: boolean;
}

/** One GET on a connection of its own (no keep-alive): which api process accepts it is up to the kernel. */
function getFresh(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 5000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

describe('-http-processes 2: api processes share the HTTP port', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;

  const apis = async (): Promise<ApiFigures[]> => {
    const response = await fetch(`${coyotes.baseUrl}/health`);
    const json = (await response.json()) as { data: { processes?: { apis?: ApiFigures[] } } };
    return json.data.processes?.apis ?? [];
  };
  /** Fresh connections, one after the other: every one must be answered 200. */
  const allAnswered = async (count: number) => {
    for (let i = 0; i < count; i += 1) assert.equal(await getFresh(`${coyotes.baseUrl}/channels`), 200);
  };

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr, args: ['-concurrent', '1', '-http-processes', '2'] });
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('master forks two api processes; /health and /stats report each, /metrics their sum', async () => {
    const forked = await waitFor('two api children', () => {
      const list = childrenOf(coyotes.pid).filter((c) => c.cmd.includes('api/dist/child.js'));
      return list.length === 2 ? list : undefined;
    });
    const reported = await waitFor('both api processes alive in /health', async () => {
      const list = await apis();
      return list.length === 2 && list.every((one) => one.alive) ? list : undefined;
    });
    assert.deepEqual(reported.map((one) => one.pid).sort(), forked.map((c) => c.pid).sort());
    // /metrics sums them into one series (a series per pid would grow without bound)
    const text = await waitFor('the api processes in /metrics', async () => {
      const body = await (await fetch(`${coyotes.baseUrl}/metrics`)).text();
      return /^coyotes_process_rss_bytes\{role="api",channel=""\} [1-9]\d*$/m.test(body) && body;
    });
    assert.equal([...text.matchAll(/^coyotes_process_rss_bytes\{role="api"/gm)].length, 1);
    assert.doesNotMatch(text, /pid=|task_id=/);
  });

  test('each api process serves on its own: with either one stopped, every new connection is answered', async () => {
    const pids = (await apis()).map((one) => one.pid!);
    // the loop below must stop each of the two, not pass by running zero times
    assert.equal(pids.length, 2, 'two api processes reported');
    for (const stopped of pids) {
      process.kill(stopped, 'SIGSTOP');
      try {
        await allAnswered(20);
      } finally {
        process.kill(stopped, 'SIGCONT');
      }
    }
  });

  test('one api process killed: the port stays open, the other answers, master starts a replacement', async () => {
    const [victim, survivor] = (await apis()).map((one) => one.pid!);
    process.kill(victim!, 'SIGKILL');
    await waitFor(`api ${victim} gone`, () => !isAlive(victim!));
    // with a single api process the port would be closed until its restart
    await allAnswered(20);
    const replaced = await waitFor('a replacement api process', async () => {
      const list = await apis();
      return list.length === 2 && list.every((one) => one.alive) && !list.some((one) => one.pid === victim) ? list : undefined;
    });
    assert.ok(
      replaced.some((one) => one.pid === survivor),
      'the survivor keeps serving',
    );
    await allAnswered(10);
  });
});
