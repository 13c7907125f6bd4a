import type Router from '@koa/router';
import { CoyotesError } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { requireChannelOrRetired, requireTask } from '../deps.js';
import { ok } from '../envelope.js';
import { taskDetail } from '../present.js';

export function taskRoutes(router: Router, deps: ApiDeps): void {
  router.get('/tasks/:id', async (ctx) => {
    ok(ctx, taskDetail(await requireTask(deps, ctx.params.id!)));
  });

  // kill a running task wherever it runs: the owning master hears it on pub/sub
  router.post('/tasks/:id/kill', async (ctx) => {
    const view = await requireTask(deps, ctx.params.id!);
    if (view.state !== 'running') throw new CoyotesError('COY_ERR_TASK_NOT_RUNNING', `task ${view.spec.id} is ${view.state}, not running`);
    await deps.broker.channels.publish({ type: 'kill', channel: view.spec.channel, taskId: view.spec.id });
    ok(ctx, { task_id: view.spec.id, status: 'killing' });
  });

  // cancel if queued or delayed, kill if running
  router.delete('/channels/:name/tasks/:id', async (ctx) => {
    const channel = await requireChannelOrRetired(deps, ctx.params.name!);
    const outcome = await deps.broker.tasks.cancel(channel, ctx.params.id!);
    if (outcome === 'running') await deps.broker.channels.publish({ type: 'kill', channel, taskId: ctx.params.id! });
    ok(ctx, { task_id: ctx.params.id, status: outcome === 'running' ? 'killing' : 'cancelled' });
  });
}
