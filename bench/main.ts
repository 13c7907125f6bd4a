/**
 * `pnpm bench`: Coyotes against what users would pick instead and against the machine's limit,
 * in one run, on a redis-server of its own. Prints the table and writes bench/results/latest.md
 * and latest.json. Options: `--rounds N` (default 3), `--only name,name` (scenarios below),
 * `--quick` (small sizes, to check the harness itself).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startRedis } from '../test/helpers/redis.js';
import { benchDelay } from './delay.js';
import { benchDepth } from './depth.js';
import { benchDispatch } from './dispatch.js';
import { benchHistory } from './history.js';
import { benchHttp } from './http.js';
import { benchIdle } from './idle.js';
import { benchLatency } from './latency.js';
import { benchRabbitMQ } from './rabbitmq.js';
import { benchSoak } from './soak.js';
import { benchSchedules } from './schedules.js';
import type { Row } from './report.js';
import { evaluate, renderMarkdown, renderTable, writeReport } from './report.js';
import { describeMachine } from './stats.js';
import { benchStartup } from './startup.js';
import { benchThroughput } from './throughput.js';
import type { BenchContext } from './systems.js';
import { BENCH_DIR } from './systems.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
const quick = values.quick;

const SCENARIOS: { name: string; run: (ctx: BenchContext) => Promise<Row[]> }[] = [
  { name: 'throughput', run: (ctx) => benchThroughput(ctx, quick ? 500 : 5000) },
  { name: 'latency', run: (ctx) => benchLatency(ctx, quick ? 20 : 100) },
  { name: 'dispatch', run: (ctx) => benchDispatch(ctx, quick ? 10_000 : 100_000) },
  { name: 'http', run: (ctx) => benchHttp(ctx, quick ? 1 : 4) },
  { name: 'depth', run: (ctx) => benchDepth(ctx, quick ? 20_000 : 1_000_000) },
  { name: 'delay', run: (ctx) => benchDelay(ctx, quick ? 100 : 1000) },
  { name: 'idle', run: (ctx) => benchIdle(ctx) },
  { name: 'startup', run: (ctx) => benchStartup(ctx, quick ? 3 : 10) },
  { name: 'soak', run: (ctx) => benchSoak(ctx, quick ? 4000 : 20_000) },
  { name: 'schedules', run: (ctx) => benchSchedules(ctx, quick ? 1000 : 10_000) },
  { name: 'history', run: (ctx) => benchHistory(ctx, quick ? 500 : 5000) },
  { name: 'rabbitmq', run: (ctx) => benchRabbitMQ(ctx, quick ? 500 : 5000, quick ? 20 : 100) },
];
const only = values.only?.split(',');
const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
if (unknown.length > 0)
  throw new Error(`--only: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);

const started = Date.now();
const log = (line: string): void => console.log(line);
const redisVersion = /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
const machine = describeMachine(redisVersion);
log(`bench: ${machine.cores} cores, ${machine.memoryGiB} GiB, load ${machine.loadAverage}; ${rounds} rounds${quick ? ' (quick)' : ''}`);

const redis = await startRedis();
const ctx: BenchContext = { redis, rounds, log, notes: [] };
const rows: Row[] = [];
try {
  for (const scenario of SCENARIOS) {
    if (only && !only.includes(scenario.name)) continue;
    const t0 = Date.now();
    log(`${scenario.name}…`);
    await redis.client.flushall();
    rows.push(...(await scenario.run(ctx)));
    log(`${scenario.name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
} finally {
  await redis.stop();
}

const results = rows.map(evaluate);
const report = {
  date: new Date().toISOString(),
  machine,
  durationS: Math.round((Date.now() - started) / 1000),
  rounds,
  results,
  notes: ctx.notes,
};
console.log('\n' + renderTable(results) + '\n');
if (quick || only) {
  console.log(`(partial run: bench/results/ left as it was)\n${renderMarkdown(report).split('\n')[0]}`);
} else {
  const written = writeReport(path.join(BENCH_DIR, 'results'), report);
  console.log(`wrote ${written.markdown} and ${written.json}`);
}
