import type Router from '@koa/router';
import type { ListedDeadLetter } from '@coyotes/broker';
import { CoyotesError } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { ok } from '../envelope.js';

/** A given-up result callback's letter (`{"task_id","channel"}`), else null: the letter is an ingress entry. */
function callbackOf(letter: ListedDeadLetter): { task_id: string; channel: string } | null {
  try {
    const payload = JSON.parse(letter.payload) as Record<string, unknown>;
    const keys = Object.keys(payload).sort().join(',');
    if (keys === 'channel,task_id' && typeof payload.task_id === 'string' && typeof payload.channel === 'string') {
      return { task_id: payload.task_id, channel: payload.channel };
    }
  } catch {
    // not JSON: an ingress entry that could not be read
  }
  return null;
}

const notFound = (id: string): CoyotesError => new CoyotesError('COY_ERR_DEAD_LETTER_NOT_FOUND', `dead letter ${id} not found`);

/**
 * Acting on dead letters (`GET /dead-letters` lists them with their ids): requeue one, or remove
 * it. A requeued ingress entry goes back on the prepare queue as a producer's LPUSH would, so it
 * passes the same door and, still refused, comes back as a new letter with the reason; a given-up
 * callback is armed again (10 fresh attempts).
 */
export function deadLetterRoutes(router: Router, deps: ApiDeps): void {
  router.get('/dead-letters/:id', async (ctx) => {
    const letter = await deps.broker.deadLetters.get(ctx.params.id!);
    if (!letter) throw notFound(ctx.params.id!);
    ok(ctx, letter);
  });

  router.post('/dead-letters/:id', async (ctx) => {
    // taken first (LREM), so two requeues of one letter cannot both queue it
    const letter = await deps.broker.deadLetters.take(ctx.params.id!);
    if (!letter) throw notFound(ctx.params.id!);
    const callback = callbackOf(letter);
    try {
      if (callback) await deps.broker.callbacks.arm(callback.channel, callback.task_id, Date.now());
      else await deps.broker.prepare.add(letter.payload);
    } catch (error) {
      await deps.broker.deadLetters.restore(letter);
      throw error;
    }
    ok(ctx, { id: letter.id, requeued: callback ? 'callback' : 'prepare-queue' });
  });

  router.delete('/dead-letters/:id', async (ctx) => {
    const letter = await deps.broker.deadLetters.take(ctx.params.id!);
    if (!letter) throw notFound(ctx.params.id!);
    ok(ctx, letter);
  });
}
