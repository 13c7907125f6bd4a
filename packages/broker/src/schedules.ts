import { CoyotesError, taskSpecFrom } from '@coyotes/protocol';
import type { ChannelConfig, ScheduleDefinition, TaskSpec } from '@coyotes/protocol';
import { newTaskId } from './broker.js';
import type { BrokerEvent } from './channels.js';
import type { Keys } from './keys.js';
import { scheduleClock } from './schedule-times.js';
import type { ScriptedRedis } from './scripts.js';
import { encodeSpec } from './spec-codec.js';
import type { BrokerOptions, TaskStore } from './tasks.js';
import { fingerprint } from './tasks.js';

/** Where a schedule stands in Redis: its next tick (null while paused) and its last run. */
export interface ScheduleState {
  nextTickMs: number | null;
  lastRunId: string | null;
}

/**
 * How a fire went: `queued` (its run is accepted), `skipped` (overlap skip: the previous run
 * lasts), `missed` (a tick claimed without a run: catch_up none), `duplicate` (distinct: the same
 * command line is queued or running), `claimed` (another master had already fired this tick),
 * `inactive` (paused or deleted meanwhile).
 */
export interface FireResult {
  outcome: 'queued' | 'skipped' | 'missed' | 'duplicate' | 'claimed' | 'inactive';
  /** The schedule's next tick as now stored (null when none or unchanged by a run-now). */
  nextTickMs: number | null;
  /** The run accepted by this fire. */
  taskId: string | null;
  /** overlap replace: the previous run, still queued or running, that this fire stopped. */
  replaced: string | null;
}

/** `tick` claims the tick and runs it; `miss` claims it without a run; `now` runs at once, claiming nothing. */
export type FireMode = 'tick' | 'miss' | 'now';

const FIRE_OUTCOMES: Record<number, FireResult['outcome']> = {
  1: 'queued',
  2: 'skipped',
  3: 'missed',
  4: 'duplicate',
  0: 'claimed',
  [-5]: 'inactive',
};

/**
 * Schedules: definitions in one hash (listed by every master), and each one's tick state in its
 * channel's hash slot, where the fire script claims a tick and accepts its run in one step.
 */
export class ScheduleStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    private readonly options: BrokerOptions,
    private readonly publish: (event: BrokerEvent) => Promise<void>,
    private readonly tasks: TaskStore,
  ) {}

  async list(): Promise<ScheduleDefinition[]> {
    const raw = await this.redis.hgetall(this.keys.schedules);
    return Object.values(raw)
      .map((json) => JSON.parse(json) as ScheduleDefinition)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<ScheduleDefinition | null> {
    const json = await this.redis.hget(this.keys.schedules, name);
    return json ? (JSON.parse(json) as ScheduleDefinition) : null;
  }

  async require(name: string): Promise<ScheduleDefinition> {
    const schedule = await this.get(name);
    if (!schedule) throw new CoyotesError('COY_ERR_SCHEDULE_NOT_FOUND', `schedule ${name} not found`);
    return schedule;
  }

  /** Stores a new schedule; a taken name is COY_ERR_SCHEDULE_EXISTS. A bad cron or zone stores nothing. */
  async create(schedule: ScheduleDefinition): Promise<void> {
    scheduleClock(schedule);
    if ((await this.redis.hsetnx(this.keys.schedules, schedule.name, JSON.stringify(schedule))) === 0) {
      throw new CoyotesError('COY_ERR_SCHEDULE_EXISTS', `schedule ${schedule.name} already exists`, {
        hint: 'PATCH it, or DELETE it first',
      });
    }
    await this.writeTick(schedule, null);
    await this.publish({ type: 'schedule-changed', name: schedule.name });
  }

  /**
   * Writes a schedule whatever is stored (the config file's way). A schedule whose timing
   * (channel, cron, timezone) and pause are unchanged keeps its next tick, so a restart of every
   * master neither loses nor repeats one.
   */
  async put(schedule: ScheduleDefinition): Promise<void> {
    scheduleClock(schedule);
    const previous = await this.get(schedule.name);
    await this.redis.hset(this.keys.schedules, schedule.name, JSON.stringify(schedule));
    await this.writeTick(schedule, previous);
    await this.publish({ type: 'schedule-changed', name: schedule.name });
  }

  /** Changes a stored schedule (COY_ERR_SCHEDULE_NOT_FOUND when there is none); answers the result. */
  async update(name: string, change: (current: ScheduleDefinition) => ScheduleDefinition): Promise<ScheduleDefinition> {
    const next = change(await this.require(name));
    await this.put({ ...next, name });
    return next;
  }

  /** Deletes a schedule: its tick state first, so no master fires it once the call returns. */
  async remove(name: string): Promise<boolean> {
    const schedule = await this.get(name);
    if (!schedule) return false;
    const k = this.keys.channel(schedule.channel);
    await this.redis.hdel(k.scheduleTicks, name);
    await this.redis.hdel(k.scheduleRuns, name);
    const removed = (await this.redis.hdel(this.keys.schedules, name)) === 1;
    await this.publish({ type: 'schedule-changed', name });
    return removed;
  }

  /** The tick state of each schedule, in one round trip. */
  async states(schedules: ScheduleDefinition[]): Promise<Map<string, ScheduleState>> {
    const pipeline = this.redis.pipeline();
    for (const schedule of schedules) {
      const k = this.keys.channel(schedule.channel);
      pipeline.hget(k.scheduleTicks, schedule.name).hget(k.scheduleRuns, schedule.name);
    }
    const replies = (await pipeline.exec()) ?? [];
    const states = new Map<string, ScheduleState>();
    schedules.forEach((schedule, i) => {
      const [tickError, tick] = replies[2 * i] ?? [null, null];
      const [runError, run] = replies[2 * i + 1] ?? [null, null];
      if (tickError ?? runError) throw tickError ?? runError;
      states.set(schedule.name, { nextTickMs: tick === null ? null : Number(tick), lastRunId: (run as string | null) ?? null });
    });
    return states;
  }

  /**
   * Fires a schedule: claims `tickMs` (advancing the stored tick to `followingMs`) and accepts
   * its run in the same script, unless another master claimed it first. `channel` is the target
   * channel's definition (a distinct channel dedups the run as a push would be). With overlap
   * replace, a previous run still queued or running is then stopped as DELETE
   * /channels/:name/tasks/:id stops a task: cancelled while queued, killed wherever it runs (a
   * master dying right between the two leaves both runs to finish).
   */
  async fire(
    schedule: ScheduleDefinition,
    mode: FireMode,
    channel: Pick<ChannelConfig, 'distinct'> | null,
    tickMs = 0,
    followingMs = 0,
  ): Promise<FireResult> {
    const now = Date.now();
    const spec = scheduledRun(schedule, now, mode === 'now' ? now : tickMs);
    const dedup = schedule.distinct || channel?.distinct === true;
    const stored: TaskSpec = dedup ? { ...spec, fingerprint: fingerprint(spec) } : spec;
    const k = this.keys.channel(schedule.channel);
    const [code, next, previous] = await this.redis.fireSchedule(
      k.queued,
      k.tasks,
      k.delayed,
      k.distinct,
      k.marker,
      k.stats,
      k.scheduleTicks,
      k.scheduleRuns,
      k.done,
      k.failed,
      k.cancelled,
      now,
      this.options.distinctTtlMs,
      schedule.name,
      mode,
      tickMs,
      followingMs,
      schedule.overlap,
      spec.id,
      encodeSpec(stored),
      stored.fingerprint ?? '',
    );
    const outcome = FIRE_OUTCOMES[Number(code)];
    if (outcome === undefined) throw new Error(`fireSchedule answered ${code}`);
    const replaced = outcome === 'queued' && schedule.overlap === 'replace' && previous !== '' ? previous : null;
    if (replaced !== null) await this.stopRun(schedule.channel, replaced);
    return { outcome, nextTickMs: next === '' ? null : Number(next), taskId: outcome === 'queued' ? spec.id : null, replaced };
  }

  private async stopRun(channel: string, taskId: string): Promise<void> {
    try {
      if ((await this.tasks.cancel(channel, taskId)) === 'running') await this.publish({ type: 'kill', channel, taskId });
    } catch (error) {
      // it finished meanwhile: nothing to stop
      if (!(error instanceof CoyotesError)) throw error;
    }
  }

  /** The tick state for a written definition, in the channel's slot (the definitions hash may lie elsewhere). */
  private async writeTick(schedule: ScheduleDefinition, previous: ScheduleDefinition | null): Promise<void> {
    const k = this.keys.channel(schedule.channel);
    if (previous && previous.channel !== schedule.channel) {
      const old = this.keys.channel(previous.channel);
      await this.redis.hdel(old.scheduleTicks, schedule.name);
      await this.redis.hdel(old.scheduleRuns, schedule.name);
    }
    if (schedule.paused) {
      await this.redis.hdel(k.scheduleTicks, schedule.name);
      return;
    }
    const nextTick = scheduleClock(schedule).next(Date.now());
    if (nextTick === null) return void (await this.redis.hdel(k.scheduleTicks, schedule.name));
    const sameTiming =
      previous !== null &&
      !previous.paused &&
      previous.channel === schedule.channel &&
      previous.cron === schedule.cron &&
      previous.timezone === schedule.timezone;
    if (sameTiming) await this.redis.hsetnx(k.scheduleTicks, schedule.name, nextTick);
    else await this.redis.hset(k.scheduleTicks, schedule.name, nextTick);
  }
}

/**
 * The ordinary task one fire of a schedule puts in its channel. Its command learns which tick it
 * runs for: `COYOTES_SCHEDULE` (the name) and `COYOTES_SCHEDULE_TICK` (the cron time, ISO 8601 UTC;
 * the time of the request for a run-now), beside the schedule's own env.
 */
export function scheduledRun(schedule: ScheduleDefinition, now: number, tickMs = now, id = newTaskId()): TaskSpec {
  const env = { ...schedule.env, COYOTES_SCHEDULE: schedule.name, COYOTES_SCHEDULE_TICK: new Date(tickMs).toISOString() };
  const spec = taskSpecFrom(
    { name: schedule.task, command: schedule.command, timeoutMs: schedule.timeoutMs, maxRetries: schedule.maxRetries, env },
    { id, channel: schedule.channel, source: 'schedule', now },
  );
  return { ...spec, schedule: schedule.name };
}
