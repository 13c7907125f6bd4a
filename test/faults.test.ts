import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, test } from 'node:test';
import { startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { allPairs, hostProcesses, killInstallation, pidfileHolder, samplePairs } from './helpers/faults.js';
import type { Fault } from './helpers/faults.js';
import { keys } from './helpers/keys.js';
import { freePort } from './helpers/ports.js';
import { isAlive } from './helpers/processes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const work = mkdtempSync(path.join(tmpdir(), 'coyotes-faults-'));

/** Lease of the test servers (startCoyotes passes -lease-timeout 2). */
const LEASE_MS = 2000;
/**
 * The bound Coyotes is held to: from Redis answering again to every accepted task Redis still
 * holds having run and the host holding exactly the processes the configuration asks for
 * (process start-up included). The full matrix asserts it; the CI sample allows three times as
 * much, on a machine shared with other test files, and reports what it measured.
 */
const CONVERGE_MS = 10_000;
/** master + one api process + the channels default, biz and cron */
const EXPECTED_PROCESSES = 5;
/** How long a process manager waits after SIGTERM before its SIGKILL, shortened for the test. */
const STOP_WAIT_MS = 2000;

const waitGone = (pid: number, timeoutMs: number) =>
  waitFor(`pid ${pid} to exit`, () => !isAlive(pid), timeoutMs, 50).then(
    () => true,
    () => false,
  );

const signal = (pid: number | undefined, name: NodeJS.Signals): void => {
  if (pid === undefined) return;
  try {
    process.kill(pid, name);
  } catch {
    // gone
  }
};

/**
 * One installation under faults: a Redis with an append-only file (a stop keeps its data), Coyotes
 * on a fixed HTTP port and pidfile (so that a restart is the same installation), and producers
 * pushing tasks through HTTP and the ingress list all along. Each task touches a file named by
 * its id, so what ran is seen on disk whatever Redis kept.
 */
class FaultWorld {
  readonly accepted = new Set<string>();
  private readonly started: RunningCoyotes[] = [];
  private blocker: Server | undefined;
  private flowing = false;
  private flow: Promise<void> = Promise.resolve();
  private outstanding = 0;
  private sequence = 0;

  private constructor(
    readonly redis: TestRedis,
    readonly dir: string,
    readonly pidfile: string,
    readonly port: number,
  ) {}

  static async open(name: string): Promise<FaultWorld> {
    const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    const dir = mkdtempSync(path.join(work, `${name}-`));
    const world = new FaultWorld(redis, dir, path.join(dir, 'coyotes.pid'), await freePort());
    try {
      await world.start();
      // generous: on a loaded machine the first start alone can take long, and it is not what is measured
      await waitFor('the first start to serve', async () => (await fetch(`${world.baseUrl}/health`)).status === 200, 90_000, 100);
    } catch (error) {
      await world.close();
      throw error;
    }
    return world;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The live master holding the pidfile. */
  get master(): number | undefined {
    return pidfileHolder(this.pidfile);
  }

  private async start(): Promise<void> {
    const coyotes = await startCoyotes({ redisAddr: this.redis.addr, pidfile: this.pidfile, httpPort: this.port, waitHttp: false });
    this.started.push(coyotes);
    // until it has written the pidfile, "no master" would start another
    await waitFor('the new master to take the pidfile', () => this.master === coyotes.pid || !isAlive(coyotes.pid), 30_000);
  }

  startFlow(): void {
    this.flowing = true;
    this.flow = (async () => {
      while (this.flowing) {
        this.push();
        await sleep(100);
      }
    })();
  }

  async stopFlow(): Promise<void> {
    this.flowing = false;
    await this.flow;
  }

  /** One task, alternately through HTTP and the ingress list; its id is kept once accepted. */
  private push(): void {
    const id = `t${(this.sequence += 1)}`;
    // every fifth runs a second: running commands when a fault strikes
    const task = id.endsWith('5') || id.endsWith('0') ? `sh -c "sleep 1; touch ${this.dir}/${id}"` : `touch ${this.dir}/${id}`;
    if (this.sequence % 2 === 0) {
      fetch(`${this.baseUrl}/channels/default/tasks`, {
        method: 'POST',
        body: new URLSearchParams({ task, id }),
        signal: AbortSignal.timeout(2000),
      }).then(
        (response) => {
          if (response.status === 200) this.accepted.add(id);
        },
        () => undefined,
      );
    } else if (this.outstanding < 5) {
      // a producer's LPUSH is accepted once it returns, which may be after Redis comes back
      this.outstanding += 1;
      void this.redis.client
        .lpush(keys.prepareQueue, JSON.stringify({ id, task, chan: 'default', ts: Math.floor(Date.now() / 1000) }))
        .then(
          () => this.accepted.add(id),
          () => undefined,
        )
        .finally(() => (this.outstanding -= 1));
    }
  }

  async inflict(fault: Fault): Promise<void> {
    const master = this.master;
    switch (fault) {
      case 'redis-stopped':
        await this.redis.down();
        return;
      case 'redis-empty':
        await this.redis.upEmpty();
        return;
      case 'master-sigterm':
        await this.stopMaster();
        return;
      case 'master-sigkill':
        signal(master, 'SIGKILL');
        if (master !== undefined) await waitGone(master, 10_000);
        return;
      case 'channel-sigkill':
        signal(hostProcesses(this.pidfile).find((p) => p.channel === 'default')?.pid, 'SIGKILL');
        return;
      case 'api-sigkill':
        for (const p of hostProcesses(this.pidfile).filter((p) => p.cmd.includes('api/dist/child.js'))) signal(p.pid, 'SIGKILL');
        return;
      case 'master-sigstop':
        signal(master, 'SIGSTOP');
        await sleep(LEASE_MS + 1000);
        signal(master, 'SIGCONT');
        return;
      case 'port-taken': {
        // a restart while something else holds the HTTP port
        await this.stopMaster();
        await this.takePort();
        await this.start();
        return;
      }
    }
  }

  /** What a process manager does: SIGTERM, then SIGKILL when the drain has not ended in time. */
  private async stopMaster(): Promise<void> {
    const master = this.master;
    if (master === undefined) return;
    signal(master, 'SIGTERM');
    if (!(await waitGone(master, STOP_WAIT_MS))) {
      signal(master, 'SIGKILL');
      await waitGone(master, 10_000);
    }
  }

  private async takePort(): Promise<void> {
    if (this.blocker) return; // still ours from an earlier fault
    await waitFor(
      'the HTTP port to be free for the squatter',
      () =>
        new Promise<boolean>((resolve) => {
          // holds the port and drops whoever connects
          const server = createServer((socket) => socket.destroy());
          server.once('error', () => resolve(false));
          server.listen(this.port, '127.0.0.1', () => {
            this.blocker = server;
            resolve(true);
          });
        }),
      20_000,
      200,
    );
  }

  /**
   * Recovery: the port freed, Redis back, Coyotes started (again, if it is not running or it
   * gave up). Resolves with the time from Redis answering to convergence.
   */
  async recover(boundMs: number): Promise<number> {
    await this.stopFlow();
    // stops listening at once (the callback would wait for connections, which it drops anyway)
    this.blocker?.close();
    this.blocker = undefined;
    if (this.redis.process.exitCode !== null || this.redis.process.signalCode !== null) await this.redis.up();
    const answering = Date.now();
    // a task pushed the moment Redis is back must run too
    const probe = 'probe';
    await this.redis.client.lpush(keys.prepareQueue, JSON.stringify({ id: probe, task: `touch ${this.dir}/${probe}`, chan: 'default' }));
    this.accepted.add(probe);
    let starting: Promise<void> | undefined;
    let last = '';
    try {
      await waitFor(
        'convergence',
        async () => {
          if (this.master === undefined && !starting) starting = this.start().finally(() => (starting = undefined));
          last = await this.divergence();
          return last === '';
        },
        boundMs,
        100,
      );
    } catch {
      const logs = this.started.map((c) => `--- master ${c.pid}:\n${c.output().split('\n').slice(-25).join('\n')}`).join('\n');
      throw new Error(`not converged ${boundMs} ms after Redis answered: ${last}\n${logs}`);
    }
    return Date.now() - answering;
  }

  /** What keeps the installation from the converged state, in words; '' when converged. */
  private async divergence(): Promise<string> {
    const master = this.master;
    if (master === undefined) return 'no master';
    const health = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(1000) }).catch(() => null);
    if (health?.status !== 200) return `the HTTP API does not answer (${health?.status ?? 'no connection'})`;
    const processes = hostProcesses(this.pidfile, master);
    const unknown = processes.filter((p) => p.pid !== master && p.ppid !== master);
    if (unknown.length > 0) return `processes its master does not know: ${JSON.stringify(unknown)}`;
    if (processes.length !== EXPECTED_PROCESSES) return `${processes.length} processes: ${JSON.stringify(processes)}`;
    const notRun: string[] = [];
    for (const id of this.accepted) if (!existsSync(path.join(this.dir, id)) && (await this.held(id))) notRun.push(id);
    return notRun.length > 0 ? `accepted tasks Redis holds that did not run: ${notRun.join(' ')}` : '';
  }

  /** Whether Redis still holds a task: as a task of the channel, or as an ingress entry not yet dispatched. */
  private async held(id: string): Promise<boolean> {
    const client = this.redis.client;
    if (await client.hexists(keys.channel('default').tasks, id)) return true;
    const lists = [keys.prepareQueue, ...(await client.keys(keys.prepareInFlight('*')))];
    for (const list of lists) if ((await client.lrange(list, 0, -1)).some((entry) => entry.includes(`"id":"${id}"`))) return true;
    return false;
  }

  async close(): Promise<void> {
    await this.stopFlow();
    this.blocker?.close();
    for (const coyotes of this.started) killInstallation(this.pidfile, coyotes.pid);
    await this.redis.stop();
  }
}

/**
 * The CI run (two pairs, so the file stays within the runner's 120 s per file on a loaded machine):
 * the pair most likely to break, plus one other sampled by a seed that changes daily; COYOTES_FAULTS_SEED picks another
 * sample, COYOTES_FAULTS=all runs every ordered pair (`pnpm test:faults`, docs/reliability.md), and
 * COYOTES_FAULTS=first+second,… the pairs it names.
 */
function pairsToRun(): { pairs: [Fault, Fault][]; seed: number } {
  const seed = Number(process.env.COYOTES_FAULTS_SEED ?? Math.floor(Date.now() / 86_400_000));
  const chosen = process.env.COYOTES_FAULTS;
  if (chosen === 'all') return { pairs: allPairs(), seed };
  // e.g. COYOTES_FAULTS=port-taken+redis-empty,api-sigkill+master-sigstop: rerun the pairs a run named
  if (chosen) return { pairs: chosen.split(',').map((pair) => pair.split('+') as [Fault, Fault]), seed };
  // the issue's own pair is test/outage-restart.test.ts; an outage with a master's death is the likeliest to break
  const always: [Fault, Fault] = ['redis-stopped', 'master-sigkill'];
  const sampled = samplePairs(seed, 2).filter(([a, b]) => a !== always[0] || b !== always[1]);
  return { pairs: [always, sampled[0]!], seed };
}

const { pairs, seed } = pairsToRun();
const deadlineMs = Number(process.env.COYOTES_FAULTS_BOUND_MS ?? (process.env.COYOTES_FAULTS === 'all' ? CONVERGE_MS : 3 * CONVERGE_MS));

/** Worlds still open: closed by the hook below even when a test times out. */
const open = new Set<FaultWorld>();

describe(`fault matrix: ${pairs.length} ordered pairs of faults with tasks flowing, then recovery (seed ${seed})`, () => {
  afterEach(async () => {
    for (const world of open) await world.close();
    open.clear();
  });
  for (const [first, second] of pairs) {
    test(`${first} then ${second}: converges within ${deadlineMs / 1000} s of Redis answering`, { timeout: 120_000 }, async (t) => {
      const world = await FaultWorld.open(`${first}-${second}`);
      open.add(world);
      try {
        world.startFlow();
        await sleep(1000);
        await world.inflict(first);
        await sleep(1000);
        await world.inflict(second);
        await sleep(1000);
        const convergedMs = await world.recover(deadlineMs);
        t.diagnostic(`converged ${convergedMs} ms after Redis answered; ${world.accepted.size} tasks accepted`);
        assert.ok(world.accepted.size > 1, 'tasks were accepted along the way');
      } finally {
        open.delete(world);
        await world.close();
      }
    });
  }
});
