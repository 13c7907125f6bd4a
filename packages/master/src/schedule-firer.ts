import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { MISSED_AFTER_MS, checkScheduleRuns, scheduleClock } from '@coyotes/broker';
import type { Broker, FireMode, FireResult } from '@coyotes/broker';
import { CoyotesError, isCoyotesError, setLongTimeout } from '@coyotes/protocol';
import type { ChannelConfig, LongTimeout, ScheduleDefinition } from '@coyotes/protocol';

/**
 * Every master re-reads all schedules this often: a change whose event was lost is still seen (a
 * pause or delete needs none: the scripts find the tick gone). With 10,000 schedules, a re-read
 * was most of master's CPU at 10 s.
 */
const RESYNC_MS = 30_000;
/** Fires of the same instant sent to Redis at once (10,000 schedules every minute fire together). */
const FIRE_BATCH = 256;
/**
 * The runs of overlap allow, non-distinct schedules are pre-enqueued this long before their tick,
 * as delayed tasks due at the tick: the promotion then queues a whole minute's burst within a few
 * tens of ms of the tick (firing 10,000 schedules at the tick itself took a second). Arming them
 * costs ~0.3 s of CPU, which a 2-core host at load 40 stretched past 5 s.
 */
export const ARM_AHEAD_MS = 15_000;
/** How long the changes heard together are gathered before they are read, in one round trip. */
const CHANGED_WAIT_MS = 10;
/** Config file schedules written at once at start. */
const APPLY_BATCH = 100;
/** Runs pre-enqueued by one script call. */
const ARM_BATCH = 1000;

interface Entry {
  schedule: ScheduleDefinition;
  /** The tick stored in Redis as last seen; null while paused. */
  nextTickMs: number | null;
  /** A tick whose pre-enqueue failed: fired at the tick instead. */
  unarmable?: number;
}

/**
 * Fires schedules on this master. Every master runs one: each arms a timer to the earliest next
 * tick and, when it comes, asks the fire script to claim the tick and accept its run. The script
 * compares the stored tick, so exactly one master's claim wins per tick whatever the hosts'
 * clocks say; the others learn the next tick from its answer. A run that needs no check at its
 * tick (overlap allow, not distinct) is claimed ARM_AHEAD_MS early instead, many schedules per
 * script call, and waits as a delayed task due at the tick (ScheduleStore.arm).
 */
export class ScheduleFirer {
  private readonly entries = new Map<string, Entry>();
  private timer: LongTimeout | undefined;
  private timerAt = Infinity;
  private resync: NodeJS.Timeout | undefined;
  private firing = false;
  private stopped = false;
  /** Schedules changed on some host, not read yet. */
  private readonly changedNames = new Set<string>();
  private readingChanged: Promise<void> | undefined;
  private channelNames: string[] | undefined;

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

  /** The channels the schedules put tasks into (their delayed runs must be promoted on time). */
  channels(): string[] {
    // asked by the promoter at each wake-up: computed again only once the schedules changed
    this.channelNames ??= [...new Set([...this.entries.values()].map((entry) => entry.schedule.channel))];
    return this.channelNames;
  }

  /**
   * A schedule was written or deleted on some host: read it again. Names heard together are read
   * together (a config file of 10,000 schedules applied at a start is 10,000 events).
   */
  changed(name: string): void {
    this.changedNames.add(name);
    this.readingChanged ??= this.readChanged().finally(() => (this.readingChanged = undefined));
  }

  /** Reads every definition and tick again (at start, periodically, after a pub/sub reconnect). */
  async reload(): Promise<void> {
    try {
      const schedules = await this.broker.schedules.list();
      const states = await this.broker.schedules.states(schedules);
      this.entries.clear();
      this.channelNames = undefined;
      for (const schedule of schedules)
        this.entries.set(schedule.name, { schedule, nextTickMs: states.get(schedule.name)?.nextTickMs ?? null });
      this.arm();
    } catch (error) {
      this.log.warn({ err: error }, 'reading schedules failed');
    }
  }

  private async readChanged(): Promise<void> {
    while (this.changedNames.size > 0) {
      // let the events that come together arrive first (a pause still reaches every host within 1 s)
      await sleep(CHANGED_WAIT_MS);
      const names = [...this.changedNames];
      this.changedNames.clear();
      try {
        const found = await this.broker.schedules.getMany(names);
        const schedules = found.filter((schedule): schedule is ScheduleDefinition => schedule !== null);
        const states = await this.broker.schedules.states(schedules);
        for (const name of names) this.entries.delete(name);
        this.channelNames = undefined;
        for (const schedule of schedules)
          this.entries.set(schedule.name, { schedule, nextTickMs: states.get(schedule.name)?.nextTickMs ?? null });
      } catch (error) {
        this.log.warn({ err: error, schedules: names.length }, 'reading changed schedules failed');
      }
      this.timerAt = Infinity;
      this.timer?.clear();
      this.arm();
    }
  }

  /** Whether a schedule's runs are pre-enqueued before their ticks: nothing about them is decided at the tick. */
  private armable(entry: Entry): boolean {
    const { schedule } = entry;
    return (
      schedule.overlap === 'allow' &&
      !schedule.distinct &&
      this.channel(schedule.channel)?.distinct !== true &&
      entry.unarmable !== entry.nextTickMs
    );
  }

  /** When an entry needs this master next: ARM_AHEAD_MS before its tick when armable, else at it. */
  private wakeAt(entry: Entry): number {
    if (entry.nextTickMs === null) return Infinity;
    return this.armable(entry) ? entry.nextTickMs - ARM_AHEAD_MS : entry.nextTickMs;
  }

  /** Arms the timer to the earliest tick, unless one is already armed as early. */
  private arm(): void {
    if (this.stopped || this.firing) return;
    let earliest = Infinity;
    for (const entry of this.entries.values()) earliest = Math.min(earliest, this.wakeAt(entry));
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
        const due = [...this.entries.values()].filter((entry) => this.wakeAt(entry) <= now);
        if (due.length === 0) break;
        const ahead = due.filter((entry) => entry.nextTickMs! > now);
        if (ahead.length > 0) await this.preEnqueue(ahead);
        const late = due.filter((entry) => entry.nextTickMs! <= now);
        for (let i = 0; i < late.length; i += FIRE_BATCH)
          await Promise.all(late.slice(i, i + FIRE_BATCH).map((entry) => this.fire(entry, now)));
      }
    } finally {
      this.firing = false;
    }
    this.arm();
  }

  /** Claims the coming ticks of armable schedules and pre-enqueues their runs, by channel and in batches. */
  private async preEnqueue(entries: Entry[]): Promise<void> {
    const byChannel = new Map<string, Entry[]>();
    for (const entry of entries) {
      const batch = byChannel.get(entry.schedule.channel);
      if (batch) batch.push(entry);
      else byChannel.set(entry.schedule.channel, [entry]);
    }
    for (const [channel, all] of byChannel) {
      for (let i = 0; i < all.length; i += ARM_BATCH) {
        const batch = all.slice(i, i + ARM_BATCH);
        const ticks = batch.map(({ schedule, nextTickMs }) => ({
          schedule,
          tickMs: nextTickMs!,
          followingMs: scheduleClock(schedule).next(nextTickMs!) ?? Number.MAX_SAFE_INTEGER,
        }));
        try {
          const results = await this.broker.schedules.arm(channel, ticks);
          batch.forEach((entry, j) => (entry.nextTickMs = results[j]!.outcome === 'inactive' ? null : results[j]!.nextTickMs));
          const armed = results.filter((result) => result.outcome === 'queued').length;
          if (armed > 0) this.log.debug({ channel, armed, tick: new Date(ticks[0]!.tickMs).toISOString() }, 'schedule runs pre-enqueued');
        } catch (error) {
          // fired at their ticks instead (by this master or another)
          this.log.warn({ err: error, channel }, 'pre-enqueuing schedule runs failed');
          for (const entry of batch) entry.unarmable = entry.nextTickMs!;
        }
      }
    }
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
 * What `POST /schedules` refuses refuses the start, naming the schedule: a bad cron expression
 * or time zone, a channel that does not exist, a command the channel could never run. Nothing is
 * written unless every schedule passes.
 */
export async function applyConfigSchedules(
  broker: Broker,
  schedules: readonly ScheduleDefinition[],
  commandRoot: string,
  log: Logger,
): Promise<void> {
  const refused = (schedule: ScheduleDefinition, message: string) =>
    new CoyotesError('COY_ERR_CONFIG_INVALID', `config file: schedule ${schedule.name}: ${message}`);
  const channels = new Map<string, Promise<ChannelConfig | null>>();
  for (const schedule of schedules) {
    if (!channels.has(schedule.channel)) channels.set(schedule.channel, broker.channels.get(schedule.channel));
    const channel = await channels.get(schedule.channel)!;
    if (!channel) throw refused(schedule, `channel ${schedule.channel} not found (create it with POST /channels first)`);
    try {
      checkScheduleRuns(schedule, channel, commandRoot);
    } catch (error) {
      if (!isCoyotesError(error)) throw error;
      throw refused(schedule, error.message);
    }
  }
  const put = async (schedule: ScheduleDefinition): Promise<void> => {
    try {
      await broker.schedules.put(schedule);
    } catch (error) {
      if (!isCoyotesError(error)) throw error;
      throw refused(schedule, error.message);
    }
  };
  // many at a time: one after the other, 10,000 schedules took 20 s of round trips on a busy host
  for (let i = 0; i < schedules.length; i += APPLY_BATCH) await Promise.all(schedules.slice(i, i + APPLY_BATCH).map(put));
  if (schedules.length > 0) log.info({ schedules: schedules.map((s) => s.name) }, 'config file schedules applied');
}
