import { Cron } from 'croner';
import { CoyotesError } from '@coyotes/protocol';
import type { ScheduleDefinition } from '@coyotes/protocol';

/**
 * A tick no master could fire within this long is missed (the masters were down): catch_up none
 * claims it without a run, catch_up once runs it once for all the missed ticks. A shorter delay
 * (a busy host, a master restarting) only makes the run late. The same holds for a run
 * pre-enqueued for a tick that no master promoted within it (see promoteDelayed).
 */
export const MISSED_AFTER_MS = 3000;

/** Whether the runtime knows this IANA time zone (Intl throws a RangeError otherwise). */
function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

function invalid(message: string): never {
  throw new CoyotesError('COY_ERR_SCHEDULE_INVALID', message);
}

/** A backward change of a zone's UTC offset longer than this is not seen (real ones are 30 min to 2 h). */
const LONGEST_SHIFT_MS = 3 * 3600_000;
const WEEK_MS = 7 * 86_400_000;

/** The UTC offset of `format`'s time zone at `atMs`, in ms (local wall time = atMs + offset). */
function offsetMs(format: Intl.DateTimeFormat, atMs: number): number {
  const at = Math.floor(atMs / 1000) * 1000;
  const parts = new Map(format.formatToParts(at).map((part) => [part.type, Number(part.value)]));
  const part = (type: Intl.DateTimeFormatPartTypes): number => parts.get(type) ?? 0;
  return Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second')) - at;
}

/**
 * The cron expression of a schedule, read in its time zone by croner (a well-kept, dependency-free
 * library: no parser of ours). Across a DST change:
 * - when the hour field names hours (`2`, `1-3`, `0,12`, `8-18/2`), every wall-clock time the
 *   expression matches fires once, whatever the minute and second fields say (`0,30 2 * * *`,
 *   `0-59/15 2 * * *`): one that occurs twice (the autumn overlap) at its first occurrence, and those
 *   that do not exist (the spring-forward gap) together once, at the first instant after the gap
 *   (02:00 and 02:30 → 03:00 CEST). croner alone does so for a lone time of day only (`30 2 * * *`),
 *   so this clock drops the second occurrences and adds the end of the gap;
 * - when the hour field starts with `*` (every hour, or a step over every hour), every instant whose
 *   wall-clock time matches fires: the gap's times do not, repeated ones fire twice, so
 *   `0 * * * *` fires at every real hour.
 * An expression whose every match falls in a gap (`0,30 2 * 3 0L` in Europe/Berlin) is refused by
 * croner as never firing.
 */
export class ScheduleClock {
  private readonly cron: Cron;
  /** Whether the hour field names hours (a repeated wall-clock time fires once) rather than starting with `*`. */
  private readonly namesHours: boolean;
  private readonly format: Intl.DateTimeFormat;

  constructor(expression: string, timezone: string) {
    const fields = expression.trim().split(/\s+/);
    if (fields.length !== 5 && fields.length !== 6) {
      invalid(`cron "${expression}" has ${fields.length} fields: give 5 (minute hour day month weekday) or 6 (seconds first)`);
    }
    if (!isTimeZone(timezone)) invalid(`timezone "${timezone}" is not an IANA time zone (such as UTC or Europe/Berlin)`);
    try {
      // a day-of-month and a weekday both given match either day, as in Vixie cron (croner's default)
      this.cron = new Cron(fields.join(' '), { timezone, paused: true, mode: '5-or-6-parts' });
    } catch (error) {
      invalid(`cron "${expression}" is invalid: ${(error as Error).message}`);
    }
    this.namesHours = !/^[*?]/.test(fields[fields.length - 4]!);
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    if (this.cron.nextRun(new Date()) === null) invalid(`cron "${expression}" never fires`);
  }

  /** The last answer of `next`: the schedules sharing an expression all ask it for the same tick. */
  private last: { afterMs: number; next: number | null } | undefined;

  /** The first tick strictly after `afterMs`, or null when the expression fires no more. */
  next(afterMs: number): number | null {
    // croner takes ~0.1 ms a call: 10,000 schedules on one tick would spend a second on it
    if (this.last?.afterMs !== afterMs) this.last = { afterMs, next: this.following(afterMs) };
    return this.last.next;
  }

  /** The `count` ticks following `afterMs`. */
  upcoming(afterMs: number, count: number): number[] {
    const ticks: number[] = [];
    for (let tick = this.following(afterMs); tick !== null && ticks.length < count; tick = this.following(tick)) ticks.push(tick);
    return ticks;
  }

  /**
   * croner's next fire time after `afterMs`, corrected across DST changes when the hour field names
   * hours: the second occurrences of repeated wall-clock times dropped, and the end of a spring
   * gap holding matching wall-clock times added. Each drop resumes the search at the end of the
   * repeated stretch, strictly later, so the loop ends (croner answers null past its last year).
   */
  private following(afterMs: number): number | null {
    let tick = this.cron.nextRun(new Date(afterMs))?.getTime() ?? null;
    for (let end = this.repeatedUntil(tick); tick !== null && end !== null; end = this.repeatedUntil(tick)) {
      tick = this.cron.nextRun(new Date(end - 1))?.getTime() ?? null;
    }
    return tick === null ? null : (this.gapFiring(afterMs, tick) ?? tick);
  }

  /**
   * When `tick` is the second occurrence of its wall-clock time (inside the stretch an autumn
   * change repeats) and the hour field names hours: the end of that stretch, the first instant
   * whose wall-clock time is new. Null otherwise.
   */
  private repeatedUntil(tick: number | null): number | null {
    if (tick === null || !this.namesHours) return null;
    const offset = offsetMs(this.format, tick);
    const before = offsetMs(this.format, tick - LONGEST_SHIFT_MS);
    const shift = before - offset;
    // the same wall-clock time occurred `shift` earlier, when the zone still had its former offset
    if (shift <= 0 || offsetMs(this.format, tick - shift) !== before) return null;
    return this.changeIn(tick - shift, tick) + shift;
  }

  /**
   * When the hour field names hours: the first spring-forward change in (afterMs, tick) whose gap
   * holds a wall-clock time the expression matches (croner skips them, but for a lone time of
   * day). The gap fires once, at the change: the first instant after the gap. Null otherwise.
   */
  private gapFiring(afterMs: number, tick: number): number | null {
    if (!this.namesHours) return null;
    // offsets change at most a few times a year: compare them a week apart, then find the change
    let before = offsetMs(this.format, afterMs);
    for (let from = afterMs; from < tick; from += WEEK_MS) {
      const to = Math.min(from + WEEK_MS, tick);
      const after = offsetMs(this.format, to);
      if (after > before) {
        const change = this.changeIn(from, to);
        if (change >= tick) return null;
        // a clock kept at the former offset reads, from the change on, the wall-clock times of the gap
        const firing = this.atOffset(before)
          .nextRun(new Date(change - 1))
          ?.getTime();
        if (firing !== undefined && firing < change + after - before) return change;
      }
      before = after;
    }
    return null;
  }

  /** The first instant in (low, high] with the offset of `high`, to the second (one change between them). */
  private changeIn(lowMs: number, highMs: number): number {
    // whole seconds (offsetMs reads the second), so that the middle always lies strictly between
    let low = Math.floor(lowMs / 1000) * 1000;
    let high = Math.floor(highMs / 1000) * 1000;
    const offset = offsetMs(this.format, high);
    while (high - low > 1000) {
      const middle = Math.floor((low + high) / 2000) * 1000;
      if (offsetMs(this.format, middle) === offset) high = middle;
      else low = middle;
    }
    return high;
  }

  /** The same expression read at a fixed UTC offset, by offset in ms. */
  private readonly fixed = new Map<number, Cron>();

  private atOffset(offset: number): Cron {
    let cron = this.fixed.get(offset);
    if (!cron) {
      cron = new Cron(this.cron.getPattern()!, { utcOffset: offset / 60_000, paused: true, mode: '5-or-6-parts' });
      this.fixed.set(offset, cron);
    }
    return cron;
  }
}

/** Clocks by expression and zone, shared by every schedule that uses the same pair. */
const clocks = new Map<string, ScheduleClock>();

/** The clock of a schedule (validated on first use: a bad expression or zone is COY_ERR_SCHEDULE_INVALID). */
export function scheduleClock(schedule: Pick<ScheduleDefinition, 'cron' | 'timezone'>): ScheduleClock {
  const key = `${schedule.timezone}\n${schedule.cron}`;
  let clock = clocks.get(key);
  if (!clock) {
    clock = new ScheduleClock(schedule.cron, schedule.timezone);
    if (clocks.size >= 10_000) clocks.clear();
    clocks.set(key, clock);
  }
  return clock;
}
