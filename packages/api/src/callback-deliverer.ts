import type { Logger } from 'pino';
import type { Broker, TaskView } from '@coyotes/broker';
import { taskDetail } from './present.js';

/** How long a claimed callback is ours before another api process may take it. */
const CLAIM_LEASE_MS = 30_000;
const POLL_MS = 250;
const CLAIM_BATCH = 16;
const IN_FLIGHT_MAX = 8;
const DELIVERY_TIMEOUT_MS = 10_000;
/** Deliveries tried before giving up (backoff 1 s, 2 s, 4 s … capped at 5 min: about 17 min in all). */
export const CALLBACK_MAX_ATTEMPTS = 10;
const BACKOFF_CAP_MS = 300_000;
/** A task not finished yet (running again, or queued for a retry) is looked at again this soon. */
const RECHECK_MS = 2_000;

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Delivers result callbacks: POSTs the task's final state (the `data` of `GET /tasks/:id`) as
 * JSON to its `callback` URL, retried with exponential backoff. Runs in every api process; the
 * broker's claim lease makes one of them deliver each callback, and a crashed deliverer's claim
 * comes due again, so delivery is at least once.
 */
export class CallbackDeliverer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly broker: Broker,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll().finally(() => this.schedule()), POLL_MS);
  }

  private async poll(): Promise<void> {
    try {
      for (const channel of await this.broker.channels.list()) {
        const room = IN_FLIGHT_MAX - this.inFlight.size;
        if (room <= 0) return;
        const ids = await this.broker.callbacks.claimDue(channel.name, CLAIM_LEASE_MS, Math.min(room, CLAIM_BATCH));
        for (const id of ids) {
          const delivery = this.deliver(channel.name, id).catch((error: unknown) =>
            this.log.warn({ err: error, taskId: id }, 'callback delivery step failed; its claim will come due again'),
          );
          this.inFlight.add(delivery);
          void delivery.finally(() => this.inFlight.delete(delivery));
        }
      }
    } catch (error) {
      this.log.warn({ err: error }, 'polling result callbacks failed');
    }
  }

  private async deliver(channel: string, id: string): Promise<void> {
    const view = await this.broker.queries.get(channel, id);
    if (!view || !view.spec.callback || view.state === 'cancelled') {
      // cancelled before it ran (no callback, as documented), forgotten by retention, or an id taken by another task
      await this.broker.callbacks.settle(channel, id);
      return;
    }
    if (!FINAL.has(view.state)) {
      const due = view.state === 'delayed' && view.dueAt !== null ? view.dueAt + RECHECK_MS : Date.now() + RECHECK_MS;
      await this.broker.callbacks.postpone(channel, id, due, false);
      return;
    }
    const error = await post(view.spec.callback, view);
    if (error === null) {
      await this.broker.callbacks.settle(channel, id);
      this.log.info({ taskId: id, callback: view.spec.callback }, 'result callback delivered');
      return;
    }
    const attempts = await this.broker.callbacks.postpone(channel, id, Date.now() + CLAIM_LEASE_MS, true);
    if (attempts >= CALLBACK_MAX_ATTEMPTS) {
      await this.broker.callbacks.settle(channel, id);
      await this.broker.deadLetters.add({
        reason: `result callback to ${view.spec.callback} failed ${attempts} times (last: ${error})`,
        payload: JSON.stringify({ task_id: id, channel }),
        at: Date.now(),
        nodeId: this.nodeId,
      });
      this.log.error({ taskId: id, callback: view.spec.callback, attempts, reason: error }, 'result callback given up');
      return;
    }
    const backoff = Math.min(1000 * 2 ** (attempts - 1), BACKOFF_CAP_MS);
    await this.broker.callbacks.postpone(channel, id, Date.now() + backoff, false);
    this.log.warn(
      { event: 'callback-failed', taskId: id, callback: view.spec.callback, attempts, reason: error, retryInMs: backoff },
      'result callback failed',
    );
  }
}

/** POSTs the task; answers null on a 2xx, else why not. */
async function post(url: string, view: TaskView): Promise<string | null> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'coyotes-callback' },
      body: JSON.stringify(taskDetail(view)),
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      redirect: 'manual',
    });
    await response.body?.cancel();
    return response.ok ? null : `HTTP ${response.status}`;
  } catch (error) {
    return deliveryError(error);
  }
}

/**
 * Why a delivery failed, in words an operator can act on: fetch's own message is only "fetch
 * failed", the reason (ECONNREFUSED, ENOTFOUND, a bad URL…) is in its cause.
 */
function deliveryError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as (Error & { code?: string }) | undefined;
  if (cause === undefined) return error.message;
  return `${error.message}: ${cause.code !== undefined && !cause.message.includes(cause.code) ? `${cause.code} ` : ''}${cause.message}`;
}
