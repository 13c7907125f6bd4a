/**
 * `node --import tsx bench/profile.ts [tasks] [channels]` (or `… profile.ts http [seconds]` for HTTP
 * push under autocannon): runs the e2e throughput case once with
 * every Coyotes process profiled (cpu-profile-hook.mjs preloaded through NODE_OPTIONS, inherited
 * by the forked children; Node 20 refuses --cpu-prof there), then
 * prints where each process spent its CPU: the top functions by self time and the share per
 * area (spawning, Redis, IPC, JSON, logging, GC, idle). Profiles stay in the printed directory
 * for Chrome DevTools or speedscope. `BENCH_TRANSPORT=rabbitmq` runs the throughput case with
 * the RabbitMQ transport (a private rabbitmq-server node).
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startRabbitMQ } from '../test/helpers/rabbitmq.js';
import { startRedis } from '../test/helpers/redis.js';
import { load } from './http.js';
import { wallMs } from './stats.js';
import { BENCH_DIR, ingressEntry, pushIngress, startBenchCoyotes, stopCoyotes, waitForStat } from './systems.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Which part of the work a function belongs to, judged by where its code lives. */
function area(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8/native (program)';
  if (url.includes('ioredis') || url.includes('redis-parser') || url.includes('/broker/')) return 'Redis (ioredis, broker)';
  if (url.includes('pino') || url.includes('sonic-boom') || url.includes('thread-stream')) return 'logging (pino)';
  if (url.includes('child_process') && /serializ|channel|Message|handleMessage|send/i.test(functionName + url)) return 'IPC';
  if (url.includes('child_process') || url.includes('internal/process') || functionName === 'spawn') return 'spawning';
  if (functionName === 'parse' || functionName === 'stringify') return 'JSON';
  if (url.includes('node:net') || url.includes('stream') || url.includes('node:internal/streams')) return 'streams/sockets';
  if (url.includes('koa') || url.includes('/api/')) return 'HTTP (koa, api)';
  if (url.startsWith('node:') || url === '') return 'node internals';
  return 'Coyotes and other code';
}

function summarize(file: string): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = profile.endTime - profile.startTime;
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    areas.set(area(frame), (areas.get(area(frame)) ?? 0) + us);
  }
  const pct = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  const busy = total - (areas.get('idle') ?? 0);
  const lines = [`  wall ${(total / 1e6).toFixed(1)} s, busy ${pct(busy)}`];
  lines.push(
    '  by area: ' +
      [...areas]
        .sort((a, b) => b[1] - a[1])
        .map(([name, us]) => `${name} ${pct(us).trim()}`)
        .join(', '),
  );
  for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, 12)) lines.push(`  ${pct(us)}  ${name}`);
  return lines.join('\n');
}

const mode = process.argv[2] === 'http' ? 'http' : 'throughput';
const dir = mkdtempSync(path.join(tmpdir(), 'coyotes-profile-'));
const profiled = { NODE_OPTIONS: `--import ${path.join(BENCH_DIR, 'cpu-profile-hook.mjs')}`, BENCH_PROFILE_DIR: dir };
const redis = await startRedis();
try {
  if (mode === 'http') {
    const seconds = Number(process.argv[3] ?? 5);
    const coyotes = await startBenchCoyotes(redis.addr, ['-task-mode=false'], profiled);
    const rps = await load(
      {
        url: `${coyotes.baseUrl}/channels/default/tasks`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task: '/bin/true' }),
      },
      seconds,
    );
    await stopCoyotes(coyotes);
    console.log(`HTTP push: ${rps.toFixed(0)} req/s for ${seconds} s; profiles in ${dir}`);
  } else {
    const tasks = Number(process.argv[2] ?? 5000);
    const channels = Number(process.argv[3] ?? 1) > 1 ? ['default', 'biz'] : ['default'];
    const rabbit = process.env.BENCH_TRANSPORT === 'rabbitmq' ? await startRabbitMQ() : undefined;
    const coyotes = await startBenchCoyotes(redis.addr, rabbit ? ['-broker-url', rabbit.url] : [], profiled);
    const entries = Array.from({ length: tasks }, (_, i) => ingressEntry('/bin/true', channels[i % channels.length]!));
    const t0 = wallMs();
    await pushIngress(redis.client, entries);
    await waitForStat(redis.client, channels, 'succeeded', tasks);
    const seconds = (wallMs() - t0) / 1000;
    await stopCoyotes(coyotes);
    await rabbit?.stop();
    console.log(
      `${tasks} tasks on ${channels.join(' + ')} in ${seconds.toFixed(2)} s (${(tasks / seconds).toFixed(0)}/s); profiles in ${dir}`,
    );
  }
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    console.log(`\n${file}`);
    console.log(summarize(path.join(dir, file)));
  }
} finally {
  await redis.stop();
}
