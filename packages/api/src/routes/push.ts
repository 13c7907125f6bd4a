import type Router from '@koa/router';
import type { Context } from 'koa';
import { newTaskId } from '@coyotes/broker';
import { taskSpecFrom } from '@coyotes/protocol';
import type { TaskInput } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { requireChannel } from '../deps.js';
import { ok } from '../envelope.js';
import { envMap, fields, optionalInteger, optionalString, requiredString, stringList } from '../fields.js';

type Extra = { cwd?: string; env?: Record<string, string>; maxRetries?: number };

/** Accepts a task into a channel; `result: false` when a distinct channel already has it. */
async function submit(deps: ApiDeps, channelName: string, input: TaskInput & Extra): Promise<{ taskId: string; accepted: boolean }> {
  const channel = await requireChannel(deps, channelName);
  const now = Date.now();
  const spec = taskSpecFrom(input, { id: newTaskId(), channel: channel.name, source: 'http', now });
  const outcome = await deps.broker.tasks.enqueue(spec, channel);
  if (outcome === 'delayed' && spec.executeAt) {
    await deps.broker.channels.publish({ type: 'delayed', channel: channel.name, dueMs: spec.executeAt });
  }
  return { taskId: spec.id, accepted: outcome !== 'duplicate' };
}

const ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The full task form of `POST /channels/:name/tasks`. */
function taskForm(ctx: Context): TaskInput & Extra {
  const body = fields(ctx);
  const commandName = optionalString(ctx, body, 'command');
  const args = stringList(ctx, body, 'args');
  const task =
    commandName === undefined ? requiredString(ctx, body, 'task') : (optionalString(ctx, body, 'task') ?? [commandName, ...args].join(' '));
  const id = optionalString(ctx, body, 'id');
  if (id !== undefined && !ID.test(id)) ctx.throw(400, 'id must be 1-128 characters of [A-Za-z0-9_.:-]');
  const delay = optionalInteger(ctx, body, 'delay');
  const timeout = optionalInteger(ctx, body, 'timeout');
  return {
    id,
    name: task,
    command: commandName === undefined ? undefined : { name: commandName, args },
    executeAt: delay ? Date.now() + delay * 1000 : undefined,
    timeoutMs: timeout ? timeout * 1000 : undefined,
    maxRetries: optionalInteger(ctx, body, 'max_retries'),
    cwd: optionalString(ctx, body, 'cwd'),
    env: envMap(ctx, body),
  };
}

export function pushRoutes(router: Router, deps: ApiDeps): void {
  // TaskRunner's route: task + channel
  router.post('/push', async (ctx) => {
    const body = fields(ctx);
    const name = requiredString(ctx, body, 'task');
    const channel = optionalString(ctx, body, 'channel') ?? deps.options.channelDefault;
    const { accepted } = await submit(deps, channel, { name });
    ok(ctx, { task_name: name, result: accepted });
  });

  // Coyotes' short route: task only
  router.post('/channels/:name', async (ctx) => {
    const name = requiredString(ctx, fields(ctx), 'task');
    const { accepted } = await submit(deps, ctx.params.name!, { name });
    ok(ctx, { task_name: name, result: accepted });
  });

  router.post('/channels/:name/tasks', async (ctx) => {
    const input = taskForm(ctx);
    const { taskId, accepted } = await submit(deps, ctx.params.name!, input);
    ok(ctx, { task_id: taskId, task_name: input.name, result: accepted });
  });
}
