import type Router from '@koa/router';
import { CoyotesError } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { requireChannel } from '../deps.js';
import { ok } from '../envelope.js';
import { page } from '../fields.js';
import { seedFailed } from '../present.js';

export function failedRoutes(router: Router, deps: ApiDeps): void {
  router.get('/channels/:name/failed-tasks', async (ctx) => {
    const channel = await requireChannel(deps, ctx.params.name!);
    const limit = page(ctx);
    const [views, counts] = await Promise.all([
      deps.broker.queries.listFailed(channel.name, limit),
      deps.broker.queries.counts(channel.name),
    ]);
    // the seed's shape is a map keyed by task id: the true total travels in a header
    ctx.set('X-Total-Count', String(counts.failed));
    ok(ctx, Object.fromEntries(views.map((view) => [view.spec.id, seedFailed(view)])));
  });

  const failedTask = async (name: string, id: string) => {
    const channel = await requireChannel(deps, name);
    const view = await deps.broker.queries.get(channel.name, id);
    if (!view || view.state !== 'failed')
      throw new CoyotesError('COY_ERR_TASK_NOT_FOUND', `failed task ${id} not found in channel ${name}`);
    return view;
  };

  router.get('/channels/:name/failed-tasks/:id', async (ctx) => {
    ok(ctx, seedFailed(await failedTask(ctx.params.name!, ctx.params.id!)));
  });

  // retry
  router.post('/channels/:name/failed-tasks/:id', async (ctx) => {
    const view = await failedTask(ctx.params.name!, ctx.params.id!);
    await deps.broker.tasks.retryFailed(view.spec.channel, view.spec.id);
    ok(ctx, null);
  });

  router.delete('/channels/:name/failed-tasks/:id', async (ctx) => {
    const view = await failedTask(ctx.params.name!, ctx.params.id!);
    await deps.broker.tasks.deleteFailed(view.spec.channel, view.spec.id);
    ok(ctx, null);
  });
}
