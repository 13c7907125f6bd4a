import type Router from '@koa/router';
import type { Context } from 'koa';
import { newTaskId } from '@coyotes/broker';
import { CoyotesError, checkRunnable, isCommandAllowed, refusedEnvNames, taskSpecFrom } from '@coyotes/protocol';
import type { ChannelConfig, TaskInput, TaskSpec } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { requireChannel } from '../deps.js';
import { ok } from '../envelope.js';
import { fields, onlyFields, optionalString, requiredString } from '../fields.js';
import { taskForm } from '../task-form.js';
import type { TaskExtras } from '../task-form.js';

/** The callback safety net: looked at this long after acceptance even if no execution end nudges it. */
const CALLBACK_SAFETY_NET_MS = 3_600_000;

/** Refuses (403) a program the channel's `allowed_commands` does not list, before anything is queued. */
export function checkAllowed(ctx: Context, channel: ChannelConfig, spec: TaskSpec, program: string): void {
  const refused = refusedEnvNames(channel, spec.env);
  if (refused.length > 0) {
    throw new CoyotesError(
      'COY_ERR_TASK_INVALID',
      `env ${refused.join(', ')} may not be set in channel ${channel.name}: it has allowed_commands, and these change which program runs`,
    );
  }
  if (!isCommandAllowed(channel, program)) {
    ctx.throw(403, `command "${program}" is not in the allowed_commands of channel ${channel.name}`);
  }
}

/** Accepts a task into a channel; `result: false` when a distinct channel already has it. */
async function submit(ctx: Context, deps: ApiDeps, channelName: string, input: TaskInput & TaskExtras) {
  const channel = await requireChannel(deps, channelName);
  const now = Date.now();
  const spec = taskSpecFrom(input, { id: newTaskId(), channel: channel.name, source: 'http', now });
  // what can never run is refused here (400), not accepted to fail later; argv[0] is the program
  // (in a shell channel /bin/sh, so a shell line cannot smuggle other programs past the allowlist)
  const argv = checkRunnable(spec, channel, deps.options.commandRoot);
  checkAllowed(ctx, channel, spec, argv[0]!);
  // armed before the task exists, so no crash can leave a finished task without its callback
  if (spec.callback) await deps.broker.callbacks.arm(channel.name, spec.id, (spec.executeAt ?? now) + CALLBACK_SAFETY_NET_MS);
  const outcome = await deps.broker.tasks.enqueue(spec, channel, input.id !== undefined);
  if (outcome === 'duplicate' && spec.callback) await deps.broker.callbacks.settle(channel.name, spec.id);
  if (outcome === 'delayed' && spec.executeAt) {
    await deps.broker.channels.publish({ type: 'delayed', channel: channel.name, dueMs: spec.executeAt });
  }
  return { taskId: spec.id, accepted: outcome !== 'duplicate' };
}

export function pushRoutes(router: Router, deps: ApiDeps): void {
  // TaskRunner's route: task + channel
  router.post('/push', async (ctx) => {
    const body = fields(ctx);
    onlyFields(body, ['task', 'channel']);
    const name = requiredString(body, 'task');
    const channel = optionalString(body, 'channel') ?? deps.options.channelDefault;
    const { accepted } = await submit(ctx, deps, channel, { name });
    ok(ctx, { task_name: name, result: accepted });
  });

  // Coyotes' short route: task only
  router.post('/channels/:name', async (ctx) => {
    const body = fields(ctx);
    onlyFields(body, ['task']);
    const name = requiredString(body, 'task');
    const { accepted } = await submit(ctx, deps, ctx.params.name!, { name });
    ok(ctx, { task_name: name, result: accepted });
  });

  router.post('/channels/:name/tasks', async (ctx) => {
    const input = taskForm(ctx);
    const { taskId, accepted } = await submit(ctx, deps, ctx.params.name!, input);
    ok(ctx, { task_id: taskId, task_name: input.name, result: accepted });
  });
}
