import type Router from '@koa/router';
import { CoyotesError } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { ok } from '../envelope.js';
import { page } from '../fields.js';
import { seedDelayed } from '../present.js';

export function delayedRoutes(router: Router, deps: ApiDeps): void {
  router.get('/delay-tasks', async (ctx) => {
    const limit = page(ctx);
    const data: Record<string, ReturnType<typeof seedDelayed>> = {};
    for (const channel of await deps.broker.channels.list()) {
      for (const view of await deps.broker.queries.listDelayed(channel.name, limit)) data[view.spec.id] = seedDelayed(view);
    }
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
