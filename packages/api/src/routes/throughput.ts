import type Router from '@koa/router';
import { THROUGHPUT_MINUTES } from '@coyotes/broker';
import type { ApiDeps } from '../deps.js';
import { requireChannel } from '../deps.js';
import { ok } from '../envelope.js';
import { rfc3339 } from '../present.js';

/**
 * Executions finished per minute over the last minutes, from the counts completeTask keeps in
 * Redis: the same history for every dashboard, across reloads and hosts. `?channel=` narrows it.
 */
export function throughputRoutes(router: Router, deps: ApiDeps): void {
  router.get('/throughput', async (ctx) => {
    const only = typeof ctx.query.channel === 'string' ? ctx.query.channel : undefined;
    const channels =
      only === undefined ? (await deps.broker.channels.list()).map((channel) => channel.name) : [(await requireChannel(deps, only)).name];
    const minutes = await deps.broker.queries.throughput(channels);
    ok(ctx, {
      window_minutes: THROUGHPUT_MINUTES,
      minutes: minutes.map((minute) => ({ start: rfc3339(minute.start), processed: minute.processed, failed: minute.failed })),
    });
  });
}
