import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';
import { createChannel, steps } from './model/commands.js';
import { CHANNELS, LEASE_S, World } from './model/world.js';

// Model-based test of the task state machine (issue #25, "close the class"): random sequences of
// pushes, cancels, kills, retries, PATCHes, channel deletes and re-creates and channel-process
// SIGKILLs against the real binary and a real redis-server, with every invariant checked after
// every step (see docs/reliability.md). Bounded for CI; longer with COYOTES_MODEL_RUNS/STEPS.
// A failure prints its seed and path; COYOTES_MODEL_SEED + COYOTES_MODEL_PATH replay it.

const env = process.env;
const RUNS = Number(env.COYOTES_MODEL_RUNS ?? 15);
const STEPS = Number(env.COYOTES_MODEL_STEPS ?? 12);
/** Whole-property budget in seconds (runs and shrinking); what is left unrun is reported. */
const BUDGET_S = Number(env.COYOTES_MODEL_BUDGET_S ?? 60);
const SEED = env.COYOTES_MODEL_SEED === undefined ? undefined : Number(env.COYOTES_MODEL_SEED);
const PATH = env.COYOTES_MODEL_PATH;
const REPLAY = env.COYOTES_MODEL_REPLAY;
/** Steps or variants to leave out (e.g. `microseconds,patch-pair`), to look past a known failure. */
const WITHOUT = (env.COYOTES_MODEL_WITHOUT ?? '').split(',').filter(Boolean);

describe('the task state machine holds under random sequences (model-based)', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let runs = 0;

  // a lease long enough that a loaded machine never lets one lapse under a live command: on one
  // host a dead channel process's tasks are requeued by its master at once, not by lease expiry
  const start = async (): Promise<void> => {
    coyotes = await startCoyotes({
      redisAddr: redis.addr,
      args: ['-concurrent', '1', '-lease-timeout', String(LEASE_S)],
      quiet: true,
      waitHttp: false,
    });
    // a loaded machine may take longer than the helper's 30 s to start five node processes
    const up = coyotes;
    await Promise.race([
      waitFor('the HTTP API', async () => (await fetch(`${up.baseUrl}/health`)).status === 200, 90_000),
      up.exited.then((status) => {
        throw new Error(`coyotes exited early (${JSON.stringify(status)})`);
      }),
    ]);
  };

  before(async () => {
    redis = await startRedis();
    await start();
  });
  after(async () => {
    // whatever still holds its output 5 s after master's SIGKILL is killed too (the helper's 30 s
    // grace would eat into the runner's 120 s per file); each run already killed its commands
    await coyotes?.stop('SIGKILL', 5_000);
    await redis?.stop();
  });

  /** A server that stopped answering /health is replaced (and Redis flushed) before the next run. */
  const healthy = async (): Promise<void> => {
    const ok = await fetch(`${coyotes.baseUrl}/health`)
      .then((response) => response.status === 200)
      .catch(() => false);
    if (ok) return;
    await coyotes.stop('SIGKILL', 5_000);
    await redis.client.flushall();
    await start();
  };

  test(
    'no id runs twice at once, workers hold, every task ends once, running is live, no 5xx',
    { timeout: (BUDGET_S + 50) * 1000 },
    async (t) => {
      let inFlight: Promise<void> = Promise.resolve();
      const property = fc.asyncProperty(
        fc.commands(steps(WITHOUT), { maxCommands: STEPS, size: 'max', ...(REPLAY === undefined ? {} : { replayPath: REPLAY }) }),
        async (commands) => {
          // fast-check's time budget returns without waiting for the run in flight: keep it to await
          const run = (async () => {
            await healthy();
            const world = new World(++runs, coyotes, redis, WITHOUT);
            for (const slot of CHANNELS) {
              world.channels.set(slot, {
                name: `m${world.run}${slot}`,
                distinct: slot === 'b',
                exists: false,
                paused: false,
                workers: 2,
                changes: [],
              });
              await createChannel(world, slot);
            }
            world.startObserving();
            const began = Date.now();
            let outcome = 'ok';
            try {
              await fc.asyncModelRun(() => ({ model: {}, real: world }), commands);
              // settle: channels back and running, then every task must reach a final state
              for (const slot of CHANNELS) {
                await createChannel(world, slot);
                const state = world.channel(slot);
                if (state.paused) {
                  const sent = Date.now();
                  await world.call('PATCH', `/channels/${state.name}`, { paused: false });
                  state.paused = false;
                  world.recordChange(slot, { sent, answered: Date.now(), blocked: false });
                }
              }
              await world.checkFinals();
            } catch (error) {
              outcome = `FAILED: ${(error as Error).message.split('\n')[0]}`;
              throw new Error(`${(error as Error).message}\n${world.describe()}`);
            } finally {
              if (env.COYOTES_MODEL_VERBOSE) {
                const stepsRun = world.journal.filter((line) => line.startsWith('— ')).length;
                process.stderr.write(
                  `model run ${world.run}: ${stepsRun} steps, ${world.incarnations.length} tasks, ${world.executions.length} executions, ${Math.round((Date.now() - began) / 1000)} s, ${outcome}\n`,
                );
              }
              for (const slot of CHANNELS)
                await fetch(`${coyotes.baseUrl}/channels/${world.channel(slot).name}`, { method: 'DELETE' }).catch(() => undefined);
              world.cleanup();
            }
          })();
          inFlight = run;
          return run;
        },
      );
      const started = Date.now();
      const details = await fc.check(property, {
        numRuns: RUNS,
        interruptAfterTimeLimit: BUDGET_S * 1000,
        ...(SEED === undefined ? {} : { seed: SEED }),
        ...(PATH === undefined ? {} : { path: PATH }),
      });
      // the run the budget interrupted finishes before the server is stopped; a violation it found counts
      const interrupted = await inFlight.then(
        () => undefined,
        (error: unknown) => error,
      );
      t.diagnostic(
        `${details.numRuns} runs of up to ${STEPS} steps in ${Math.round((Date.now() - started) / 1000)} s (seed ${details.seed}${details.interrupted ? ', interrupted by the time budget' : ''})`,
      );
      if (!details.failed && interrupted !== undefined) {
        throw new Error(
          `the run in flight when the time budget ended failed (not shrunk; seed ${details.seed}):\n${(interrupted as Error).message}`,
        );
      }
      if (details.failed) {
        const why = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        const replay = /replayPath="([^"]*)"/.exec(String(details.counterexample?.[0]))?.[1];
        const knobs = `COYOTES_MODEL_SEED=${details.seed} COYOTES_MODEL_PATH=${details.counterexamplePath}${replay ? ` COYOTES_MODEL_REPLAY='${replay}'` : ''}`;
        throw new Error(`${fc.defaultReportMessage(details)}\nReplay: ${knobs} (same STEPS and WITHOUT)\n${why}`);
      }
    },
  );
});
