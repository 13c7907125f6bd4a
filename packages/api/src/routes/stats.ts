import type Router from '@koa/router';
import type { ApiDeps } from '../deps.js';
import { ok } from '../envelope.js';
import { localFigures } from '../host-figures.js';
import { channelSettings } from '../present.js';

/**
 * One row per channel for `coyotes status`: settings and queue counts from Redis (every host),
 * and this host's channel process (pid, restarts, and CPU/RSS when master samples them) from the
 * figures master publishes.
 */
export function statsRoutes(router: Router, deps: ApiDeps): void {
  router.get('/stats', async (ctx) => {
    const [channels, local] = await Promise.all([deps.broker.channels.list(), localFigures(deps)]);
    const rows = [];
    for (const channel of channels) {
      const counts = await deps.broker.queries.counts(channel.name);
      const { running: runningTasks, channel: _name, ...process } = local?.channels[channel.name] ?? { running: [] };
      const { name: _n, paused: _p, distinct: _d, ...settings } = channelSettings(channel);
      rows.push({
        name: channel.name,
        workers: channel.workers,
        paused: channel.paused,
        distinct: channel.distinct,
        ...settings,
        ...counts,
        process: local?.channels[channel.name] ? { ...process, running: runningTasks.length } : null,
      });
    }
    ok(ctx, { node_id: local?.nodeId ?? null, channels: rows });
  });
}
