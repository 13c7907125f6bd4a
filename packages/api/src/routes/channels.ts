import type Router from '@koa/router';
import type { Context } from 'koa';
import { CoyotesError, isValidChannelName, newChannelConfig } from '@coyotes/protocol';
import type { ChannelConfig, HostFigures } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { requireChannel } from '../deps.js';
import { ok } from '../envelope.js';
import { commandPatterns, fields, invalidField, onlyFields, optionalBoolean, optionalInteger, page, requiredString } from '../fields.js';
import { localFigures } from '../host-figures.js';
import { channelSettings, seedListed } from '../present.js';

/**
 * The seed's per-channel listing (running then queued tasks, one page, and the true total), plus
 * the channel's settings and this host's process: pid, CPU %, RSS, restarts and counters, and per
 * command running here its pid and its process group's CPU % and RSS (null for one running on
 * another host).
 */
async function channelTasks(deps: ApiDeps, channel: ChannelConfig, limit: { offset: number; limit: number }, local: HostFigures | null) {
  const { name } = channel;
  const [running, counts] = await Promise.all([deps.broker.queries.listRunning(name), deps.broker.queries.counts(name)]);
  const room = Math.max(0, limit.limit - running.length);
  const queued = room > 0 ? await deps.broker.queries.listQueued(name, { offset: limit.offset, limit: room }) : [];
  const stats = local?.channels[name];
  const here = new Map(stats?.running.map((task) => [task.taskId, task]));
  return {
    tasks: [
      ...running.map((spec) => {
        const task = here.get(spec.id);
        return { ...seedListed(spec, 'running'), pid: task?.pid ?? null, cpu: task?.cpu ?? null, rss: task?.rss ?? null };
      }),
      ...queued.map((spec) => seedListed(spec, 'queued')),
    ],
    count: counts.running + counts.queued,
    workers: channel.workers,
    paused: channel.paused,
    ...settingsBeyondSeed(channel),
    process: stats
      ? {
          pid: stats.pid,
          alive: stats.alive,
          cpu: stats.cpu,
          rss: stats.rss,
          restarts: stats.restarts,
          processed: stats.processed,
          succeeded: stats.succeeded,
          failed: stats.failed,
        }
      : null,
  };
}

/** The settings a listing adds after its own fields (name and paused are there already; `worker` is `workers`' input name). */
function settingsBeyondSeed(channel: ChannelConfig) {
  const { name: _name, paused: _paused, ...settings } = channelSettings(channel);
  return settings;
}

async function allChannels(ctx: Context, deps: ApiDeps): Promise<void> {
  const limit = page(ctx);
  const [channels, local] = await Promise.all([deps.broker.channels.list(), localFigures(deps)]);
  const data: Record<string, Awaited<ReturnType<typeof channelTasks>>> = {};
  for (const channel of channels) data[channel.name] = await channelTasks(deps, channel, limit, local);
  ok(ctx, data);
}

/** The settings `POST /channels` and `PATCH /channels/:name` take (the seed's `distinct` and `worker` among them). */
const CHANNEL_SETTINGS = [
  'worker',
  'paused',
  'distinct',
  'max_retries',
  'timeout',
  'shell',
  'global_workers',
  'allowed_commands',
  'allowed_commands[',
];

/**
 * Settings a request may change, validated; absent fields stay as they are. A field the route
 * does not take is refused (a typo such as `workers` would otherwise answer 200 and change nothing).
 */
function channelPatch(ctx: Context, routeFields: readonly string[] = []): Partial<ChannelConfig> {
  const body = fields(ctx);
  onlyFields(body, [...routeFields, ...CHANNEL_SETTINGS]);
  const patch: Partial<ChannelConfig> = {};
  const workers = optionalInteger(body, 'worker', 1);
  if (workers !== undefined) {
    if (workers > 1024) invalidField('worker must be at most 1024');
    patch.workers = workers;
  }
  // cluster-wide cap of running tasks; 0 lifts it
  const globalWorkers = optionalInteger(body, 'global_workers');
  if (globalWorkers !== undefined) patch.globalWorkers = globalWorkers;
  const distinct = optionalBoolean(body, 'distinct');
  if (distinct !== undefined) patch.distinct = distinct;
  const paused = optionalBoolean(body, 'paused');
  if (paused !== undefined) patch.paused = paused;
  const maxRetries = optionalInteger(body, 'max_retries');
  if (maxRetries !== undefined) patch.maxRetries = maxRetries;
  const timeout = optionalInteger(body, 'timeout');
  if (timeout !== undefined) patch.timeoutMs = timeout * 1000;
  const shell = optionalBoolean(body, 'shell');
  if (shell !== undefined) patch.shell = shell;
  const allowedCommands = commandPatterns(body);
  if (allowedCommands !== undefined) patch.allowedCommands = allowedCommands;
  return patch;
}

/**
 * Writes a channel's definition, validated here once: merged into what is stored (absent: the
 * defaults with -concurrent workers) atomically against any other writer on any host. The broker
 * publishes `channel-changed`, from which every master, this host's included, applies it.
 */
async function writeChannel(deps: ApiDeps, name: string, patch: Partial<ChannelConfig>): Promise<ChannelConfig> {
  const channel = await deps.broker.channels.update(name, (current) => ({
    ...(current ?? newChannelConfig(name, deps.options.concurrent)),
    ...patch,
    name,
  }));
  // this process's next push must see the change even before its event arrives
  deps.channels.forget(name);
  return channel;
}

export function channelRoutes(router: Router, deps: ApiDeps): void {
  router.get('/channels', (ctx) => allChannels(ctx, deps));
  // TaskRunner's name for the same listing
  router.get('/status', (ctx) => allChannels(ctx, deps));

  router.get('/channels/:name', async (ctx) => {
    const channel = await requireChannel(deps, ctx.params.name!);
    ok(ctx, await channelTasks(deps, channel, page(ctx), await localFigures(deps)));
  });

  // creates a channel, or updates one that exists (TaskRunner called it POST /queue)
  const createChannel = async (ctx: Context): Promise<void> => {
    const patch = channelPatch(ctx, ['name']);
    const name = requiredString(fields(ctx), 'name');
    if (!isValidChannelName(name))
      throw new CoyotesError('COY_ERR_CHANNEL_NAME_INVALID', 'name must be 1-64 characters of [A-Za-z0-9_.:-]');
    await writeChannel(deps, name, patch);
    ok(ctx, null);
  };
  router.post('/channels', createChannel);
  router.post('/queue', createChannel);

  router.patch('/channels/:name', async (ctx) => {
    const channel = await requireChannel(deps, ctx.params.name!);
    const updated = await writeChannel(deps, channel.name, channelPatch(ctx));
    // `workers` as this route always answered it, then the settings under their input names
    const { name, ...settings } = channelSettings(updated);
    ok(ctx, { name, workers: updated.workers, ...settings });
  });

  router.delete('/channels/:name', async (ctx) => {
    const { name } = await requireChannel(deps, ctx.params.name!);
    // its schedules would go on filling a channel nobody consumes, unseen in every listing
    const users = (await deps.broker.schedules.list()).filter((schedule) => schedule.channel === name).map((schedule) => schedule.name);
    if (users.length > 0) {
      throw new CoyotesError(
        'COY_ERR_CHANNEL_IN_USE',
        `channel ${name} is used by schedule${users.length > 1 ? 's' : ''} ${users.join(', ')}: delete ${users.length > 1 ? 'them' : 'it'} or move ${users.length > 1 ? 'them' : 'it'} to another channel first`,
      );
    }
    // kept aside as retired while its tasks may run; every master drains its process on the event
    if (!(await deps.broker.channels.remove(name))) throw new CoyotesError('COY_ERR_CHANNEL_NOT_FOUND', `channel ${name} not found`);
    deps.channels.forget(name);
    ok(ctx, null);
  });
}
