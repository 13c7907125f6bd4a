import type Router from '@koa/router';
import { NODE_DEAD_AFTER_MS } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { ok } from '../envelope.js';
import { page } from '../fields.js';
import { localFigures } from '../host-figures.js';
import { historyHealth } from './history.js';

export function systemRoutes(router: Router, deps: ApiDeps): void {
  router.get('/health', async (ctx) => {
    // master's liveness is its figures' freshness: a stalled master turns this 503, never slow
    const [redis, master] = await Promise.all([deps.broker.ping(1000), localFigures(deps)]);
    const healthy = redis && master !== null;
    ctx.status = healthy ? 200 : 503;
    ctx.body = {
      status_code: ctx.status,
      message: healthy ? 'ok' : 'unhealthy',
      // what starts commands: "native" (coyotes-spawner) or "node" (the node:child_process fallback)
      data: {
        redis,
        master: master !== null,
        spawner: master?.spawner ?? null,
        processes: master,
        // the SQL task history (null when off): its outbox depth and whether SQL takes writes
        history: await historyHealth(deps).catch(() => null),
      },
    };
  });

  router.get('/nodes', async (ctx) => {
    ok(ctx, await deps.broker.nodes.live(NODE_DEAD_AFTER_MS));
  });

  router.get('/dead-letters', async (ctx) => {
    const { offset, limit } = page(ctx);
    const { total, items } = await deps.broker.deadLetters.list(offset, limit);
    ok(ctx, { count: total, items });
  });
}
