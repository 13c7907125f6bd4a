import type { RunningCoyotes } from './coyotes.js';

/**
 * Stops Coyotes so that no command outlives the test: a drain (running commands finish and are
 * recorded while Redis is still up), forced by a second SIGTERM (commands killed, tasks
 * requeued) if it takes longer than `graceMs`. A SIGKILL would leave channel processes waiting
 * to record their commands' results in a Redis the test is about to stop.
 */
export async function stopLeavingNothing(coyotes: RunningCoyotes, graceMs = 10_000): Promise<void> {
  const force = setTimeout(() => coyotes.process.kill('SIGTERM'), graceMs);
  try {
    await coyotes.stop('SIGTERM');
  } finally {
    clearTimeout(force);
  }
}
