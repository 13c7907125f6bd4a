/**
 * `node --import tsx bench/dispatch-hop.ts [samples]`: the ingress dispatcher's hop alone, at a
 * low rate. A master with `-task-mode=false` runs no channel process, so this script can take
 * the channel's wake-up marker itself: the time from `LPUSH task:prepare:queue` to that marker
 * is one producer entry moved into its channel. Not part of `pnpm bench`: a tool for changes to
 * the dispatcher (docs/benchmarks.md, push-to-exec latency).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startRedis } from '../test/helpers/redis.js';
import { percentile } from './stats.js';
import { INGRESS, ingressEntry, startBenchCoyotes, stopCoyotes } from './systems.js';

const samples = Number(process.argv[2] ?? 300);
const redis = await startRedis();
const coyotes = await startBenchCoyotes(redis.addr, ['-task-mode=false']);
const blocking = new Redis(redis.port, '127.0.0.1');
const producer = new Redis(redis.port, '127.0.0.1');
try {
  const hops: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const woken = blocking.brpop('coyotes:{default}:marker', 5);
    // the BRPOP is on its way before the push
    await sleep(1);
    const t = performance.now();
    await producer.lpush(INGRESS, ingressEntry('/bin/true', 'default'));
    if ((await woken) === null) throw new Error('no wake-up marker within 5 s');
    hops.push(performance.now() - t);
    await sleep(20);
  }
  const at = (p: number) => percentile(hops, p).toFixed(2);
  console.log(`LPUSH → channel wake-up, ${samples} entries one every 20 ms: p50 ${at(50)} ms, p90 ${at(90)} ms, p99 ${at(99)} ms`);
} finally {
  blocking.disconnect();
  producer.disconnect();
  await stopCoyotes(coyotes);
  await redis.stop();
}
