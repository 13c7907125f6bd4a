import type Router from '@koa/router';
import type { AdmissionInput } from '@coyotes/broker';
import type { ApiDeps } from '../deps.js';
import { requireChannel } from '../deps.js';
import { ok } from '../envelope.js';
import { fields, onlyFields, optionalString, requiredString } from '../fields.js';
import { taskForm } from '../task-form.js';

/** Accepts a task into a channel through the broker's one door; `accepted: false` when a distinct channel already has it. */
async function submit(deps: ApiDeps, channelName: string, input: AdmissionInput) {
  const channel = await requireChannel(deps, channelName);
  const { taskId, outcome } = await deps.broker.admission.admitOne(channel, input, 'http');
  return { taskId, accepted: outcome !== 'duplicate' };
}

export function pushRoutes(router: Router, deps: ApiDeps): void {
  // TaskRunner's route: task + channel
  router.post('/push', async (ctx) => {
    const body = fields(ctx);
    onlyFields(body, ['task', 'channel']);
    const name = requiredString(body, 'task');
    const channel = optionalString(body, 'channel') ?? deps.options.channelDefault;
    const { accepted } = await submit(deps, channel, { name });
    ok(ctx, { task_name: name, result: accepted });
  });

  // Coyotes' short route: task only
  router.post('/channels/:name', async (ctx) => {
    const body = fields(ctx);
    onlyFields(body, ['task']);
    const name = requiredString(body, 'task');
    const { accepted } = await submit(deps, ctx.params.name!, { name });
    ok(ctx, { task_name: name, result: accepted });
  });

  router.post('/channels/:name/tasks', async (ctx) => {
    const input = taskForm(ctx);
    const { taskId, accepted } = await submit(deps, ctx.params.name!, input);
    ok(ctx, { task_id: taskId, task_name: input.name, result: accepted });
  });
}
