/**
 * 4. HTTP push requests/s with keep-alive (autocannon): POST /channels/default/tasks against a
 * bare Koa hello-world on the same machine. Coyotes runs with `-task-mode=false`, so the figure
 * is the API and Redis alone, not the commands competing for the cores.
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

export async function benchHttp(ctx: BenchContext, seconds: number): Promise<Row[]> {
  const coyotesRps: number[] = [];
  const koaRps: number[] = [];
  const koaPort = await freePort();
  const koa = await forkReady('koa-hello.mjs', [String(koaPort)]);
  const coyotes = await startBenchCoyotes(ctx.redis.addr, ['-task-mode=false']);
  try {
    for (let round = 0; round < ctx.rounds; round += 1) {
      coyotesRps.push(
        await load(
          {
            url: `${coyotes.baseUrl}/channels/default/tasks`,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ task: '/bin/true' }),
          },
          seconds,
        ),
      );
      koaRps.push(await load({ url: `http://127.0.0.1:${koaPort}/`, method: 'POST' }, seconds));
      ctx.log(`  round ${round + 1}: coyotes ${coyotesRps.at(-1)!.toFixed(0)} req/s, bare koa ${koaRps.at(-1)!.toFixed(0)} req/s`);
    }
  } finally {
    await stopCoyotes(coyotes);
    await stopChild(koa);
  }
  return [
    {
      id: 'http-push',
      measure: `HTTP push, keep-alive, ${CONNECTIONS} connections, ${seconds} s (POST /channels/default/tasks, JSON)`,
      unit: 'req/s',
      rounds: coyotesRps,
      baseline: { name: 'bare Koa hello-world', rounds: koaRps },
      target: { on: 'ratio', op: '>=', value: 0.5 },
    },
  ];
}
