// Baseline: a BullMQ worker (concurrency N) that spawns each job's command the way Coyotes does
// (own process group, stdout/stderr piped and read) and returns what it printed. Configured as
// BullMQ's "Going to production" guide advises: finished jobs are removed past a count
// (removeOnComplete / removeOnFail), not kept forever (its default).
// Usage: node bench/bullmq-worker.mjs <redisPort> <queueName> <concurrency> [jobs]; sends "ready"
// over IPC, and "done" once it has completed `jobs` jobs (the completed set no longer counts them).
import { spawn } from 'node:child_process';
import { Worker } from 'bullmq';

const [port, queueName, concurrency, jobs] = process.argv.slice(2);

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk.toString()));
    child.stderr.on('data', () => undefined);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`exit ${code}`))));
  });
}

const worker = new Worker(queueName, (job) => run(job.data.command, job.data.args ?? []), {
  connection: { host: '127.0.0.1', port: Number(port) },
  concurrency: Number(concurrency),
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
});
worker.on('error', () => undefined);
let completed = 0;
if (jobs) worker.on('completed', () => (completed += 1) === Number(jobs) && process.send?.('done'));
await worker.waitUntilReady();
process.send?.('ready');
const stop = async () => {
  await worker.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
