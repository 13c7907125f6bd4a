// Measures what master's CPU/memory sampling costs, from both sources of figures: `proc` (what
// master uses on Linux: one pass over /proc that reads each process's stat once, finding the
// members of every command's process group and their figures together) and `pidusage` (the
// fallback off Linux; on Linux it keeps an fd open per pid, as master did before).
// Wall time includes waiting for libuv's thread pool (pidusage's reads are asynchronous); CPU time
// is what a sample really costs this process, threads included. The /proc pass is synchronous:
// its wall time is how long a sample holds master's event loop.
// Usage (after `pnpm build`): node scripts/measure-sampling.mjs [groups...]   (default 1 10 50 250)
// Each group is a command tree of 2 processes (sh + sleep), as a channel's commands would be.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageSampler } from '../packages/master/dist/index.js';

const SAMPLES = 20;
const counts = process.argv.slice(2).map(Number);
const openFds = () => readdirSync('/proc/self/fd').length;

/** Starts `n` process groups of two processes each; answers their leader pids. */
async function startGroups(n) {
  const leaders = [];
  for (let i = 0; i < n; i += 1) {
    const child = spawn('/bin/sh', ['-c', 'sleep 120 & wait'], { detached: true, stdio: 'ignore' });
    child.unref();
    leaders.push(child.pid);
  }
  await sleep(300); // let each shell fork its sleep
  return leaders;
}

const stopGroups = (leaders) => {
  for (const pid of leaders) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
};

console.log(`processes on this host: ${readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length}`);
console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} on ${availableParallelism()} cores`);
console.log('source    groups  pids  wall ms/sample median  max  CPU ms/sample  CPU µs/pid  fds held');
for (const groups of counts.length > 0 ? counts : [1, 10, 50, 250]) {
  const leaders = await startGroups(groups);
  for (const source of ['pidusage', 'proc']) {
    const fdsBefore = openFds();
    const sampler = new UsageSampler(() => ({ processes: [process.pid], commandGroups: leaders }), 1000, source);
    await sampler.sample(); // the first sample opens pidusage's fds
    const costs = [];
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < SAMPLES; i += 1) costs.push((await sampler.sample()).costMs);
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000 / SAMPLES;
    costs.sort((a, b) => a - b);
    const { pids } = sampler.latest;
    const fds = openFds() - fdsBefore;
    const column = (value, width) => String(value).padStart(width);
    console.log(
      [
        source.padEnd(8),
        column(groups, 6),
        column(pids, 4),
        column(costs[SAMPLES >> 1].toFixed(2), 21),
        column(costs[SAMPLES - 1].toFixed(2), 4),
        column(cpuMs.toFixed(2), 13),
        column(((cpuMs * 1000) / pids).toFixed(1), 10),
        column(fds, 8),
      ].join('  '),
    );
  }
  stopGroups(leaders);
}
// pidusage keeps its fds until their max age passes: end without waiting for them
process.exit(0);
