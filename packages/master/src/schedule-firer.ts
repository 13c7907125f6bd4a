import type { Logger } from 'pino';
import { scheduleClock } from '@coyotes/broker';
import type { Broker, FireMode, FireResult } from '@coyotes/broker';
import { CoyotesError, isCoyotesError, setLongTimeout } from '@coyotes/protocol';
import type { ChannelConfig, LongTimeout, ScheduleDefinition } from '@coyotes/protocol';

/**
 * A tick no master could fire within this long is missed (the masters were down): catch_up none
 * claims it without a run, catch_up once runs it once for all the missed ticks. A shorter delay
 * (a busy host, a master restarting) only makes the run late.
 */
export const MISSED_AFTER_MS = 3000;
/** Every master re-reads all schedules this often: a change whose event was lost is still seen. */
const RESYNC_MS = 10_000;
/** Fires of the same instant sent to Redis at once (10,000 schedules every minute fire together). */
const FIRE_BATCH = 256;

interface Entry {
  schedule: ScheduleDefinition;
  /** The tick stored in Redis as last seen; null while paused. */
  nextTickMs: number | null;
}

/**
 * Fires schedules on this master. Every master runs one: each arms a timer to the earliest next
 * tick and, when it comes, asks the fire script to claim the tick and accept its run. The script
 * compares the stored tick, so exactly one master's claim wins per tick whatever the hosts'
 * clocks say; the others learn the next tick from its answer.
 */
export class ScheduleFirer {
  private readonly entries = new Map<string, Entry>();
  private timer: LongTimeout | undefined;
  private timerAt = Infinity;
  private resync: NodeJS.Timeout | undefined;
  private firing = false;
  private stopped = false;

  constructor(
    private readonly broker: Broker,
    private readonly channel: (name: string) => ChannelConfig | undefined,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.reload();
    this.resync = setInterval(() => void this.reload(), RESYNC_MS);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.clear();
    clearInterval(this.resync);
  }

  /** A schedule was written or deleted on some host: read it again. */
  changed(name: string): void {
    void this.readOne(name).catch((error: unknown) => this.log.warn({ err: error, schedule: name }, 'reading a changed schedule failed'));
  }

  /** Reads every definition and tick again (at start, periodically, after a pub/sub reconnect). */
  async reload(): Promise<void> {
    try {
      const schedules = await this.broker.schedules.list();
      const states = await this.broker.schedules.states(schedules);
      this.entries.clear();
      for (const schedule of schedules)
        this.entries.set(schedule.name, { schedule, nextTickMs: states.get(schedule.name)?.nextTickMs ?? null });
      this.arm();
    } catch (error) {
      this.log.warn({ err: error }, 'reading schedules failed');
    }
  }

  private async readOne(name: string): Promise<void> {
    const schedule = await this.broker.schedules.get(name);
    if (!schedule) {
      this.entries.delete(name);
    } else {
      const state = (await this.broker.schedules.states([schedule])).get(name);
      this.entries.set(name, { schedule, nextTickMs: state?.nextTickMs ?? null });
    }
    this.timerAt = Infinity;
    this.timer?.clear();
    this.arm();
  }

  /** Arms the timer to the earliest tick, unless one is already armed as early. */
  private arm(): void {
    if (this.stopped || this.firing) return;
    let earliest = Infinity;
    for (const entry of this.entries.values()) if (entry.nextTickMs !== null && entry.nextTickMs < earliest) earliest = entry.nextTickMs;
    if (earliest === Infinity || earliest >= this.timerAt) return;
    this.timer?.clear();
    this.timerAt = earliest;
    this.timer = setLongTimeout(() => void this.fireDue(), earliest - Date.now());
  }

  private async fireDue(): Promise<void> {
    this.timerAt = Infinity;
    this.firing = true;
    try {
      for (;;) {
        const now = Date.now();
        const due = [...this.entries.values()].filter((entry) => entry.nextTickMs !== null && entry.nextTickMs <= now);
        if (due.length === 0) break;
        for (let i = 0; i < due.length; i += FIRE_BATCH)
          await Promise.all(due.slice(i, i + FIRE_BATCH).map((entry) => this.fire(entry, now)));
      }
    } finally {
      this.firing = false;
    }
    this.arm();
  }

  /**
   * Fires one due tick. An on-time tick is followed by the next one after it, so ticks chain
   * whatever this host's clock says; a missed one by the first after now (the backlog collapses).
   */
  private async fire(entry: Entry, now: number): Promise<void> {
    const { schedule } = entry;
    const tick = entry.nextTickMs!;
    const missed = now - tick > MISSED_AFTER_MS;
    let result: FireResult;
    try {
      const following = scheduleClock(schedule).next(missed ? now : tick) ?? Number.MAX_SAFE_INTEGER;
      const mode: FireMode = missed && schedule.catchUp === 'none' ? 'miss' : 'tick';
      result = await this.broker.schedules.fire(schedule, mode, this.channel(schedule.channel) ?? null, tick, following);
    } catch (error) {
      // leave the tick for the next try (or for another master)
      this.log.warn({ err: error, schedule: schedule.name }, 'firing a schedule failed');
      entry.nextTickMs = now + 1000;
      return;
    }
    entry.nextTickMs = result.outcome === 'inactive' ? null : result.nextTickMs;
    if (result.outcome === 'claimed') return;
    const fields = { schedule: schedule.name, tick: new Date(tick).toISOString(), lateMs: now - tick, taskId: result.taskId };
    // a fire on time is the common case (10,000 a minute in the bench): debug; anything else is news
    if (result.outcome === 'queued' && !missed) this.log.debug(fields, 'schedule fired');
    else if (result.outcome === 'queued') this.log.info(fields, 'schedule caught up on missed ticks');
    else if (result.outcome !== 'inactive') this.log.info({ ...fields, outcome: result.outcome }, 'schedule tick without a run');
    if (result.replaced) this.log.info({ schedule: schedule.name, taskId: result.replaced }, 'schedule replaced its previous run');
  }
}

/**
 * Writes the config file's schedules at start (the file wins over live changes to them;
 * schedules it does not name are left alone). One whose timing is unchanged keeps its next tick.
 * A bad cron expression or time zone refuses the start, naming the schedule.
 */
export async function applyConfigSchedules(broker: Broker, schedules: readonly ScheduleDefinition[], log: Logger): Promise<void> {
  for (const schedule of schedules) {
    try {
      await broker.schedules.put(schedule);
    } catch (error) {
      if (!isCoyotesError(error)) throw error;
      throw new CoyotesError('COY_ERR_CONFIG_INVALID', `config file: schedule ${schedule.name}: ${error.message}`);
    }
  }
  if (schedules.length > 0) log.info({ schedules: schedules.map((s) => s.name) }, 'config file schedules applied');
}
