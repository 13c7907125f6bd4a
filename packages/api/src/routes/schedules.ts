import type Router from '@koa/router';
import { checkScheduleRuns, scheduleClock } from '@coyotes/broker';
import type { ScheduleState } from '@coyotes/broker';
import { CoyotesError, scheduleFrom } from '@coyotes/protocol';
import type { ScheduleDefinition } from '@coyotes/protocol';
import type { ApiDeps } from '../deps.js';
import { requireChannel } from '../deps.js';
import { ok } from '../envelope.js';
import { fields } from '../fields.js';
import { rfc3339 } from '../present.js';

/** Fire times shown with each schedule. */
const UPCOMING = 5;

/** What can never run is refused (400/403) when the schedule is written, not at its first tick. */
async function checkSchedule(deps: ApiDeps, schedule: ScheduleDefinition): Promise<void> {
  scheduleClock(schedule);
  checkScheduleRuns(schedule, await requireChannel(deps, schedule.channel), deps.options.commandRoot);
}

/** A schedule as the API shows it: its definition, next fire times and last run. */
async function present(deps: ApiDeps, schedule: ScheduleDefinition, state: ScheduleState | undefined) {
  const next = state?.nextTickMs ?? null;
  const upcoming = next === null || next >= Number.MAX_SAFE_INTEGER ? [] : [next, ...scheduleClock(schedule).upcoming(next, UPCOMING - 1)];
  const last = state?.lastRunId ? await deps.broker.queries.get(schedule.channel, state.lastRunId) : null;
  return {
    name: schedule.name,
    cron: schedule.cron,
    timezone: schedule.timezone,
    channel: schedule.channel,
    task: schedule.task,
    command: schedule.command ? { name: schedule.command.name, args: schedule.command.args } : null,
    timeout: schedule.timeoutMs ? schedule.timeoutMs / 1000 : null,
    env: schedule.env ? Object.keys(schedule.env) : [],
    max_retries: schedule.maxRetries ?? null,
    distinct: schedule.distinct,
    overlap: schedule.overlap,
    catch_up: schedule.catchUp,
    paused: schedule.paused,
    created_at: rfc3339(schedule.createdAt),
    next_runs: upcoming.map((ms) => new Date(ms).toISOString()),
    last_run: state?.lastRunId
      ? {
          task_id: state.lastRunId,
          status: last?.state ?? 'forgotten',
          exit_code: last?.result?.exitCode ?? null,
          signal: last?.result?.signal ?? null,
          finished_at: last?.result ? rfc3339(last.result.finishedAt) : null,
        }
      : null,
  };
}

async function presentOne(deps: ApiDeps, schedule: ScheduleDefinition) {
  return present(deps, schedule, (await deps.broker.schedules.states([schedule])).get(schedule.name));
}

export function scheduleRoutes(router: Router, deps: ApiDeps): void {
  router.get('/schedules', async (ctx) => {
    const schedules = await deps.broker.schedules.list();
    const states = await deps.broker.schedules.states(schedules);
    ok(ctx, await Promise.all(schedules.map((schedule) => present(deps, schedule, states.get(schedule.name)))));
  });

  router.post('/schedules', async (ctx) => {
    const schedule = scheduleFrom(fields(ctx));
    await checkSchedule(deps, schedule);
    await deps.broker.schedules.create(schedule);
    ok(ctx, await presentOne(deps, schedule));
  });

  router.get('/schedules/:name', async (ctx) => {
    ok(ctx, await presentOne(deps, await deps.broker.schedules.require(ctx.params.name!)));
  });

  router.patch('/schedules/:name', async (ctx) => {
    const current = await deps.broker.schedules.require(ctx.params.name!);
    const schedule = scheduleFrom(fields(ctx), current);
    await checkSchedule(deps, schedule);
    await deps.broker.schedules.put(schedule);
    ok(ctx, await presentOne(deps, schedule));
  });

  router.delete('/schedules/:name', async (ctx) => {
    const name = ctx.params.name!;
    if (!(await deps.broker.schedules.remove(name))) throw new CoyotesError('COY_ERR_SCHEDULE_NOT_FOUND', `schedule ${name} not found`);
    ok(ctx, { name, deleted: true });
  });

  // run now, outside the cron: the tick state is untouched; overlap and distinct apply
  router.post('/schedules/:name/run', async (ctx) => {
    const schedule = await deps.broker.schedules.require(ctx.params.name!);
    const channel = await requireChannel(deps, schedule.channel);
    const result = await deps.broker.schedules.fire(schedule, 'now', channel);
    ok(ctx, { name: schedule.name, task_id: result.taskId, result: result.outcome });
  });
}
