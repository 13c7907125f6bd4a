// Baseline: one plain Node process spawning `count` commands with `inFlight` at a time, stdout and
// stderr piped and read (as Coyotes must), each in its own process group (as Coyotes does).
// Prints {"elapsedMs": …} once the last command has exited and its pipes have closed.
// Usage: node bench/spawn-loop.mjs <count> <inFlight> <command> [args…]
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const [count, inFlight] = process.argv.slice(2, 4).map(Number);
const [command, ...args] = process.argv.slice(4);
let started = 0;
let finished = 0;
const t0 = performance.now();

function runOne() {
  started += 1;
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = 0;
  child.stdout.on('data', (chunk) => (output += chunk.length));
  child.stderr.on('data', (chunk) => (output += chunk.length));
  child.once('close', () => {
    finished += 1;
    if (started < count) runOne();
    else if (finished === count) {
      process.stdout.write(JSON.stringify({ elapsedMs: performance.now() - t0 }) + '\n');
    }
  });
}

for (let i = 0; i < Math.min(inFlight, count); i += 1) runOne();
