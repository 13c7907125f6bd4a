// Baseline: a BullMQ worker (concurrency N) that spawns each job's command the way Coyotes does
// (own process group, stdout/stderr piped and read) and returns what it printed.
// Usage: node bench/bullmq-worker.mjs <redisPort> <queueName> <concurrency>; sends "ready" over IPC.
import { spawn } from 'node:child_process';
import { Worker } from 'bullmq';

const [port, queueName, concurrency] = process.argv.slice(2);

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
});
worker.on('error', () => undefined);
await worker.waitUntilReady();
process.send?.('ready');
const stop = async () => {
  await worker.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
