import { CoyotesError, allowedTaskArgv, checkRunnable, taskSpecFrom } from '@coyotes/protocol';
import type { ChannelConfig, ScheduleDefinition, TaskSpec } from '@coyotes/protocol';
import { newTaskId } from './broker.js';
import type { BrokerEvent } from './channels.js';
import type { Keys } from './keys.js';
import { MISSED_AFTER_MS, scheduleClock } from './schedule-times.js';
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

/** A coming tick of a schedule to pre-enqueue (ScheduleStore.arm). */
export interface ArmedTick {
  schedule: ScheduleDefinition;
  tickMs: number;
  /** The tick after it, stored as the next one once this one is claimed. */
  followingMs: number;
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

  /** The definitions of these names, in one round trip (null for a name not stored). */
  async getMany(names: readonly string[]): Promise<(ScheduleDefinition | null)[]> {
    if (names.length === 0) return [];
    const raw = await this.redis.hmget(this.keys.schedules, ...names);
    return raw.map((json) => (json ? (JSON.parse(json) as ScheduleDefinition) : null));
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

  /** Deletes a schedule: its tick state and coming runs first, so no master fires it once the call returns. */
  async remove(name: string): Promise<boolean> {
    const schedule = await this.get(name);
    if (!schedule) return false;
    await this.disarm(schedule.channel, name, 'delete');
    await this.redis.hdel(this.keys.channel(schedule.channel).scheduleRuns, name);
    const removed = (await this.redis.hdel(this.keys.schedules, name)) === 1;
    await this.publish({ type: 'schedule-changed', name });
    return removed;
  }

  /** The tick state of each schedule, in one round trip (two HMGETs per channel: 10,000 schedules are re-read every resync). */
  async states(schedules: ScheduleDefinition[]): Promise<Map<string, ScheduleState>> {
    const byChannel = new Map<string, string[]>();
    for (const { name, channel } of schedules) {
      const names = byChannel.get(channel);
      if (names) names.push(name);
      else byChannel.set(channel, [name]);
    }
    const pipeline = this.redis.pipeline();
    for (const [channel, names] of byChannel) {
      const k = this.keys.channel(channel);
      pipeline.hmget(k.scheduleTicks, ...names).hmget(k.scheduleRuns, ...names);
    }
    const replies = (await pipeline.exec()) ?? [];
    const states = new Map<string, ScheduleState>();
    [...byChannel.values()].forEach((names, i) => {
      const [tickError, ticks] = replies[2 * i] ?? [null, []];
      const [runError, runs] = replies[2 * i + 1] ?? [null, []];
      if (tickError ?? runError) throw tickError ?? runError;
      names.forEach((name, j) => {
        const tick = (ticks as (string | null)[])[j] ?? null;
        states.set(name, { nextTickMs: tick === null ? null : Number(tick), lastRunId: (runs as (string | null)[])[j] ?? null });
      });
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
      k.retries,
      k.schedulePending,
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
      MISSED_AFTER_MS,
    );
    const outcome = FIRE_OUTCOMES[Number(code)];
    if (outcome === undefined) throw new Error(`fireSchedule answered ${code}`);
    const replaced = outcome === 'queued' && schedule.overlap === 'replace' && previous !== '' ? previous : null;
    if (replaced !== null) await this.stopRun(schedule.channel, replaced);
    return { outcome, nextTickMs: next === '' ? null : Number(next), taskId: outcome === 'queued' ? spec.id : null, replaced };
  }

  /**
   * Pre-enqueues the runs of coming ticks of schedules putting tasks into `channel`, in one script
   * call: each claims its tick (advancing the stored tick to the following one) and is accepted
   * as a delayed task due at the tick, which the delayed-task promotion of any master then queues
   * on time. For overlap allow, non-distinct schedules only: their run needs no check at the tick.
   * Answers, in order, `queued` (armed), `claimed` (another master armed or fired it) or `inactive`.
   */
  async arm(channel: string, runs: readonly ArmedTick[]): Promise<FireResult[]> {
    if (runs.length === 0) return [];
    const now = Date.now();
    const specs = runs.map(({ schedule, tickMs }): TaskSpec => {
      const spec: TaskSpec = { ...scheduledRun(schedule, now, tickMs), executeAt: tickMs };
      // what the promotion does with it should its tick be missed
      if (schedule.catchUp === 'once') spec.scheduleCatchUp = 'once';
      return spec;
    });
    const packed = runs.map(({ schedule, tickMs, followingMs }, i) => [
      schedule.name,
      tickMs,
      followingMs,
      specs[i]!.id,
      encodeSpec(specs[i]!),
    ]);
    const k = this.keys.channel(channel);
    const replies = await this.redis.armSchedules(
      k.queued,
      k.tasks,
      k.delayed,
      k.distinct,
      k.stats,
      k.scheduleTicks,
      k.scheduleRuns,
      k.schedulePending,
      k.marker,
      Date.now(),
      JSON.stringify(packed),
    );
    const results = replies.map(([code, next], i): FireResult => {
      const outcome = FIRE_OUTCOMES[Number(code)];
      if (outcome === undefined) throw new Error(`armSchedules answered ${code}`);
      return { outcome, nextTickMs: next === '' ? null : Number(next), taskId: outcome === 'queued' ? specs[i]!.id : null, replaced: null };
    });
    const due = Math.min(...runs.filter((_, i) => results[i]!.outcome === 'queued').map((run) => run.tickMs));
    // every master's promoter wakes at the tick (the event also reaches this one)
    if (due !== Infinity) await this.publish({ type: 'delayed', channel, dueMs: due });
    return results;
  }

  /** Cancels a schedule's pre-enqueued runs whose tick has not come, and writes its next tick (see disarmSchedule). */
  private async disarm(channel: string, name: string, tick: 'delete' | 'set' | 'keep', nextTickMs = 0): Promise<void> {
    const k = this.keys.channel(channel);
    await this.redis.disarmSchedule(
      k.tasks,
      k.delayed,
      k.scheduleTicks,
      k.scheduleRuns,
      k.schedulePending,
      k.stats,
      k.retries,
      Date.now(),
      name,
      tick,
      nextTickMs,
    );
  }

  private async stopRun(channel: string, taskId: string): Promise<void> {
    try {
      if ((await this.tasks.cancel(channel, taskId)) === 'running') await this.publish({ type: 'kill', channel, taskId });
    } catch (error) {
      // it finished meanwhile: nothing to stop
      if (!(error instanceof CoyotesError)) throw error;
    }
  }

  /**
   * The tick state for a written definition, in the channel's slot (the definitions hash may lie
   * elsewhere). A changed definition cancels the runs pre-enqueued for its coming ticks (they carry
   * the old command, or must not run at all once paused): the masters arm them again.
   */
  private async writeTick(schedule: ScheduleDefinition, previous: ScheduleDefinition | null): Promise<void> {
    const k = this.keys.channel(schedule.channel);
    if (previous && previous.channel !== schedule.channel) {
      await this.disarm(previous.channel, schedule.name, 'delete');
      await this.redis.hdel(this.keys.channel(previous.channel).scheduleRuns, schedule.name);
    }
    const nextTick = schedule.paused ? null : scheduleClock(schedule).next(Date.now());
    if (nextTick === null) return this.disarm(schedule.channel, schedule.name, 'delete');
    const sameTiming =
      previous !== null &&
      !previous.paused &&
      previous.channel === schedule.channel &&
      previous.cron === schedule.cron &&
      previous.timezone === schedule.timezone;
    // the same definition written again (the config file at each start) keeps its armed runs
    if (sameTiming && JSON.stringify({ ...previous, createdAt: 0 }) === JSON.stringify({ ...schedule, createdAt: 0 }))
      await this.redis.hsetnx(k.scheduleTicks, schedule.name, nextTick);
    else await this.disarm(schedule.channel, schedule.name, sameTiming ? 'keep' : 'set', nextTick);
  }
}

/**
 * Refuses (CoyotesError) a schedule whose runs could never run in `channel`: a bad cron
 * expression or time zone, a command over this host's exec limits or outside the command root, a
 * program not in the channel's allowed_commands. `POST`/`PATCH /schedules` and the config file's
 * schedules are checked by it, when written rather than at their first tick.
 */
export function checkScheduleRuns(schedule: ScheduleDefinition, channel: ChannelConfig, commandRoot: string): void {
  scheduleClock(schedule);
  const spec = scheduledRun(schedule, Date.now());
  checkRunnable(spec, channel, commandRoot);
  allowedTaskArgv(spec, channel);
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
