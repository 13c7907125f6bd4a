import type Router from '@koa/router';
import type { TaskView } from '@coyotes/broker';
import type { TaskState } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { requireChannelOrRetired } from '../deps.js';
import { ok } from '../envelope.js';
import { invalidField, optionalString, page } from '../fields.js';
import { taskSummary } from '../present.js';

/** The states a listing shows, in the order `GET /tasks` lists them; `done` is `succeeded`'s list name. */
const STATES: readonly TaskState[] = ['running', 'queued', 'delayed', 'failed', 'succeeded', 'cancelled'];

/** Up to `count` tasks of one state in one channel, from the first; each list in its own order. */
async function tasksIn(deps: ApiDeps, channel: string, state: TaskState, count: number): Promise<TaskView[]> {
  if (count === 0) return [];
  const first = { offset: 0, limit: count };
  const q = deps.broker.queries;
  const views = async (specs: { id: string }[]) =>
    (await Promise.all(specs.map((spec) => q.get(channel, spec.id)))).filter((view): view is TaskView => view?.state === state);
  switch (state) {
    case 'running':
      return views((await q.listRunning(channel)).slice(0, count));
    case 'queued':
      return views(await q.listQueued(channel, first));
    case 'delayed':
      return q.listDelayed(channel, first);
    case 'failed':
      return q.listFailed(channel, first);
    case 'succeeded':
      return q.listDone(channel, first);
    case 'cancelled':
      return q.listCancelled(channel, first);
  }
}

/**
 * `GET /tasks[?channel=&state=]`: tasks of every channel (or one), every state (or one) — running,
 * queued (next first), delayed (soonest first), then failed, succeeded and cancelled (most recent
 * first) — one page, and `count`, the total of what matches.
 */
export function taskListRoutes(router: Router, deps: ApiDeps): void {
  router.get('/tasks', async (ctx) => {
    const query = ctx.query as Record<string, unknown>;
    const { offset, limit } = page(ctx);
    const wanted = optionalString(query, 'state');
    const state = wanted === 'done' ? 'succeeded' : wanted;
    if (state !== undefined && !(STATES as readonly string[]).includes(state)) {
      invalidField(`state must be one of ${STATES.join(', ')} (or done), got ${JSON.stringify(state.slice(0, 64))}`);
    }
    const states = state === undefined ? STATES : [state as TaskState];
    const name = optionalString(query, 'channel');
    const channels =
      name === undefined ? (await deps.broker.channels.list()).map((c) => c.name) : [await requireChannelOrRetired(deps, name)];
    let count = 0;
    let skip = offset;
    const items: ReturnType<typeof taskSummary>[] = [];
    for (const channel of channels) {
      const counts = await deps.broker.queries.counts(channel);
      for (const one of states) {
        const total = counts[one === 'succeeded' ? 'done' : one];
        count += total;
        const room = limit - items.length;
        // whole lists before the offset are skipped by their count, as GET /delay-tasks does
        if (room === 0 || skip >= total) {
          skip = Math.max(0, skip - total);
          continue;
        }
        const views = await tasksIn(deps, channel, one, skip + room);
        items.push(...views.slice(skip, skip + room).map(taskSummary));
        skip = 0;
      }
    }
    ok(ctx, { count, items });
  });
}
