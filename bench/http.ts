/**
 * 4. HTTP push requests/s with keep-alive (autocannon): POST /channels/default/tasks against a
 * bare Koa hello-world on the same machine, with one api process and with two
 * (`-http-processes 2`). Coyotes runs with `-task-mode=false`, so the figure is the API and
 * Redis alone, not the commands competing for the cores.
 */
import { createRequire } from 'node:module';
import { freePort } from '../test/helpers/ports.js';
import type { Row } from './report.js';
import type { BenchContext } from './systems.js';
import { forkReady, startBenchCoyotes, stopChild, stopCoyotes } from './systems.js';

interface AutocannonOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  duration: number;
}
interface AutocannonResult {
  requests: { average: number };
  non2xx: number;
  errors: number;
}
// autocannon ships no types; this is the slice of its API used here
const autocannon = createRequire(import.meta.url)('autocannon') as (options: AutocannonOptions) => Promise<AutocannonResult>;

const CONNECTIONS = 16;

/** Keep-alive load on one URL for `seconds`; answers the mean requests/s (any non-2xx is an error). */
export async function load(options: Omit<AutocannonOptions, 'connections' | 'duration'>, seconds: number): Promise<number> {
  const result = await autocannon({ ...options, connections: CONNECTIONS, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${options.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result.requests.average;
}

const pushTo = (baseUrl: string): Omit<AutocannonOptions, 'connections' | 'duration'> => ({
  url: `${baseUrl}/channels/default/tasks`,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ task: '/bin/true' }),
});

export async function benchHttp(ctx: BenchContext, seconds: number): Promise<Row[]> {
  const oneRps: number[] = [];
  const twoRps: number[] = [];
  const koaRps: number[] = [];
  const koaPort = await freePort();
  const koa = await forkReady('koa-hello.mjs', [String(koaPort)]);
  const one = await startBenchCoyotes(ctx.redis.addr, ['-task-mode=false']);
  const two = await startBenchCoyotes(ctx.redis.addr, ['-task-mode=false', '-http-processes', '2']);
  try {
    for (let round = 0; round < ctx.rounds; round += 1) {
      oneRps.push(await load(pushTo(one.baseUrl), seconds));
      twoRps.push(await load(pushTo(two.baseUrl), seconds));
      koaRps.push(await load({ url: `http://127.0.0.1:${koaPort}/`, method: 'POST' }, seconds));
      ctx.log(
        `  round ${round + 1}: coyotes ${oneRps.at(-1)!.toFixed(0)} req/s (1 api process), ${twoRps.at(-1)!.toFixed(0)} (2), ` +
          `bare koa ${koaRps.at(-1)!.toFixed(0)} req/s`,
      );
    }
  } finally {
    await stopCoyotes(one);
    await stopCoyotes(two);
    await stopChild(koa);
  }
  const measure = (processes: string) =>
    `HTTP push, ${processes}, keep-alive, ${CONNECTIONS} connections, ${seconds} s (POST /channels/default/tasks, JSON)`;
  const baseline = { name: 'bare Koa hello-world', rounds: koaRps };
  return [
    {
      id: 'http-push',
      measure: measure('1 api process'),
      unit: 'req/s',
      rounds: oneRps,
      baseline,
      target: { on: 'ratio', op: '>=', value: 0.5 },
    },
    {
      id: 'http-push-2',
      measure: measure('2 api processes (-http-processes 2)'),
      unit: 'req/s',
      rounds: twoRps,
      baseline,
      target: { on: 'ratio', op: '>=', value: 0.5 },
    },
  ];
}
