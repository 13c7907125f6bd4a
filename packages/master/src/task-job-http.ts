import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Broker } from '@coyotes/broker';

const IDLE_MS = 250;
const DELIVERY_TIMEOUT_MS = 10_000;
/** Attempts at one record before it is given up (to the dead letters): backoff 1 s, 2 s … 60 s, about 6 min in all. */
export const TASK_JOB_HTTP_MAX_ATTEMPTS = 10;
const BACKOFF_CAP_MS = 60_000;

/**
 * POSTs task-job TaskLog records to `logs_http`, one record per request (its JSON as the body),
 * from this node's outbox in Redis, oldest first: a task's records arrive in order. A record
 * leaves the outbox only once answered 2xx (or given up), so delivery is at least once across
 * crashes; commands never wait for it, they only append to the outbox.
 */
export class TaskJobLogPoster {
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private wake: AbortController = new AbortController();

  constructor(
    private readonly broker: Broker,
    private readonly nodeId: string,
    private readonly logsChannel: string,
    private readonly url: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake.abort();
    await this.loop;
  }

  /** Sleeps `ms`, or less when stopped. */
  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.wake.signal }).catch(() => undefined);
  }

  private async run(): Promise<void> {
    let attempts = 0;
    while (this.running) {
      let record: string | null;
      try {
        record = await this.broker.taskJob.nextToPost(this.logsChannel, this.nodeId);
      } catch (error) {
        this.log.warn({ err: error }, 'reading the task-job log outbox failed');
        await this.pause(1000);
        continue;
      }
      if (record === null) {
        await this.pause(IDLE_MS);
        continue;
      }
      const failure = await post(this.url, record);
      try {
        if (failure === null) {
          attempts = 0;
          await this.broker.taskJob.posted(this.logsChannel, this.nodeId);
          continue;
        }
        attempts += 1;
        if (attempts >= TASK_JOB_HTTP_MAX_ATTEMPTS) {
          await this.broker.deadLetters.add({
            reason: `task-job logs_http ${this.url}: a TaskLog record failed ${attempts} times (last: ${failure})`,
            payload: record,
            at: Date.now(),
            nodeId: this.nodeId,
          });
          await this.broker.taskJob.posted(this.logsChannel, this.nodeId);
          this.log.error({ url: this.url, attempts, reason: failure }, 'task-job log record given up');
          attempts = 0;
          continue;
        }
      } catch (error) {
        this.log.warn({ err: error }, 'updating the task-job log outbox failed');
      }
      const backoff = Math.min(1000 * 2 ** Math.max(0, attempts - 1), BACKOFF_CAP_MS);
      this.log.warn({ url: this.url, attempts, reason: failure, retryInMs: backoff }, 'posting a task-job log record failed');
      await this.pause(backoff);
    }
  }
}

/** POSTs one record; answers null on a 2xx, else why not. */
async function post(url: string, record: string): Promise<string | null> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'coyotes-task-job-logs' },
      body: record,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      redirect: 'manual',
    });
    await response.body?.cancel();
    return response.ok ? null : `HTTP ${response.status}`;
  } catch (error) {
    const cause = (error as Error).cause as (Error & { code?: string }) | undefined;
    return cause ? `${(error as Error).message}: ${cause.code ?? cause.message}` : String(error);
  }
}
