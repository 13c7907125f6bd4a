import type Router from '@koa/router';
import { CoyotesError } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { ok } from '../envelope.js';
import { page } from '../fields.js';
import { seedDelayed } from '../present.js';

export function delayedRoutes(router: Router, deps: ApiDeps): void {
  router.get('/delay-tasks', async (ctx) => {
    // one page across channels (in name order): whole channels before the offset are skipped by count
    let { offset, limit } = page(ctx);
    const data: Record<string, ReturnType<typeof seedDelayed>> = {};
    let total = 0;
    for (const channel of await deps.broker.channels.list()) {
      const delayed = (await deps.broker.queries.counts(channel.name)).delayed;
      total += delayed;
      if (limit === 0 || offset >= delayed) {
        offset = Math.max(0, offset - delayed);
        continue;
      }
      const views = await deps.broker.queries.listDelayed(channel.name, { offset, limit });
      for (const view of views) data[view.spec.id] = seedDelayed(view);
      offset = 0;
      limit -= views.length;
    }
    // the seed's shape is a map keyed by task id: the true total travels in a header
    ctx.set('X-Total-Count', String(total));
    ok(ctx, data);
  });

  const delayedTask = async (id: string) => {
    const names = (await deps.broker.channels.list()).map((channel) => channel.name);
    const view = await deps.broker.queries.locate(names, id);
    if (!view || view.state !== 'delayed') throw new CoyotesError('COY_ERR_TASK_NOT_FOUND', `delayed task ${id} not found`);
    return view;
  };

  router.get('/delay-tasks/:id', async (ctx) => {
    ok(ctx, seedDelayed(await delayedTask(ctx.params.id!)));
  });

  router.delete('/delay-tasks/:id', async (ctx) => {
    const view = await delayedTask(ctx.params.id!);
    await deps.broker.tasks.cancel(view.spec.channel, view.spec.id);
    ok(ctx, seedDelayed(view));
  });
}
