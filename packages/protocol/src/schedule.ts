import { isValidChannelName } from './channel.js';
import { MAX_TIMEOUT_S } from './door.js';
import { CoyotesError } from './errors.js';
import type { TaskCommand } from './task.js';

/** What a schedule does when a tick comes while its previous run is still queued or running. */
export type ScheduleOverlap = 'allow' | 'skip' | 'replace';

/** What a schedule does about ticks missed while no master ran (downtime). */
export type ScheduleCatchUp = 'none' | 'once';

/** Schedule names: the same rule as channel names, so they are key- and URL-safe. */
export const SCHEDULE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * A cron-style schedule: every tick of `cron` (in `timezone`) puts one task into `channel`,
 * fired exactly once per tick across every master on the same Redis.
 */
export interface ScheduleDefinition {
  name: string;
  /** 5 fields (minute precision) or 6 with seconds first. */
  cron: string;
  /** IANA time zone the expression is read in. */
  timezone: string;
  channel: string;
  /** The task line (shown in listings; the command line itself when `command` is absent). */
  task: string;
  /** Exec this program directly with these arguments, no shell. */
  command?: TaskCommand;
  timeoutMs?: number;
  env?: Record<string, string>;
  maxRetries?: number;
  /** Skip a tick while an identical command line is queued or running in the channel. */
  distinct: boolean;
  overlap: ScheduleOverlap;
  catchUp: ScheduleCatchUp;
  paused: boolean;
  /** Unix ms of the definition's creation. */
  createdAt: number;
}

/** What a fire of a schedule did with its tick. */
export type ScheduleFireOutcome = 'queued' | 'skipped' | 'duplicate' | 'missed';

/** The fields a schedule is written with (POST/PATCH /schedules and the `-config` file's `schedules`). */
export const SCHEDULE_FIELDS = [
  'name',
  'cron',
  'timezone',
  'channel',
  'task',
  'command',
  'args',
  'timeout',
  'env',
  'max_retries',
  'distinct',
  'overlap',
  'catch_up',
  'paused',
] as const;

type RawSchedule = Partial<Record<(typeof SCHEDULE_FIELDS)[number], unknown>>;

function invalid(message: string): never {
  throw new CoyotesError('COY_ERR_SCHEDULE_INVALID', message);
}

function text(raw: RawSchedule, field: keyof RawSchedule): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') invalid(`${field} must be a string`);
  if (value.includes('\0')) invalid(`${field} must not contain NUL bytes`);
  return value;
}

function integer(raw: RawSchedule, field: keyof RawSchedule, max: number): number | undefined {
  const value = raw[field];
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0 || number > max) {
    invalid(`${field} must be an integer from 0 to ${max}`);
  }
  return number;
}

function flag(raw: RawSchedule, field: keyof RawSchedule): boolean | undefined {
  const value = raw[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  invalid(`${field} must be true or false`);
}

function oneOf<T extends string>(raw: RawSchedule, field: keyof RawSchedule, values: readonly T[]): T | undefined {
  const value = text(raw, field);
  if (value !== undefined && !values.includes(value as T)) invalid(`${field} must be one of ${values.join(', ')}`);
  return value as T | undefined;
}

function env(raw: RawSchedule): Record<string, string> | undefined {
  let value = raw.env;
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      invalid('env must be a JSON object of strings');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid('env must be an object of strings');
  const entries = Object.entries(value);
  for (const [key, v] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) invalid(`env name "${key}" is invalid`);
    if (typeof v !== 'string') invalid(`env.${key} must be a string`);
  }
  return entries.length > 0 ? (Object.fromEntries(entries) as Record<string, string>) : undefined;
}

function args(raw: RawSchedule): string[] {
  const value = raw.args;
  if (value === undefined || value === null || value === '') return [];
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.map((item) => {
    if (typeof item !== 'string' && typeof item !== 'number') invalid('args must be a list of strings');
    return String(item);
  });
}

/**
 * A schedule from its written fields (snake_case, as in the API and the config file), over
 * `base` when one is changed (PATCH). Every field but the cron expression and time zone is
 * checked here (those need the cron library, in the broker); a bad one is
 * COY_ERR_SCHEDULE_INVALID naming it.
 */
export function scheduleFrom(raw: RawSchedule, base?: ScheduleDefinition, now = Date.now()): ScheduleDefinition {
  const unknown = Object.keys(raw).find((key) => !(SCHEDULE_FIELDS as readonly string[]).includes(key));
  if (unknown !== undefined)
    invalid(`unknown schedule field ${JSON.stringify(unknown.slice(0, 64))} (takes ${SCHEDULE_FIELDS.join(', ')})`);
  const given = text(raw, 'name');
  // a PATCH names its schedule in the path; a rename there would be silently ignored
  if (base !== undefined && given !== undefined && given !== base.name)
    invalid(`name cannot be changed (schedule ${base.name}): create a schedule under the new name, then delete this one`);
  const name = base?.name ?? given;
  if (name === undefined || !SCHEDULE_NAME.test(name)) invalid('name must be 1-64 characters of [A-Za-z0-9_.:-]');
  const cron = text(raw, 'cron') ?? base?.cron;
  if (cron === undefined) invalid('cron is required: 5 fields (minute hour day month weekday) or 6 (seconds first)');
  const channel = text(raw, 'channel') ?? base?.channel ?? 'default';
  if (!isValidChannelName(channel)) invalid('channel must be 1-64 characters of [A-Za-z0-9_.:-]');
  const commandName = text(raw, 'command');
  let task = text(raw, 'task');
  let command = base?.command;
  if (commandName !== undefined) {
    command = { name: commandName, args: args(raw) };
    task ??= [commandName, ...command.args].join(' ');
  } else if (task !== undefined) {
    command = undefined;
  }
  task ??= base?.task;
  if (task === undefined || task.trim() === '') invalid('task (a command line) or command (a program, with args) is required');
  const timeout = integer(raw, 'timeout', MAX_TIMEOUT_S);
  const schedule: ScheduleDefinition = {
    name,
    cron: cron.trim(),
    timezone: text(raw, 'timezone') ?? base?.timezone ?? 'UTC',
    channel,
    task,
    distinct: flag(raw, 'distinct') ?? base?.distinct ?? false,
    overlap: oneOf(raw, 'overlap', ['allow', 'skip', 'replace'] as const) ?? base?.overlap ?? 'allow',
    catchUp: oneOf(raw, 'catch_up', ['none', 'once'] as const) ?? base?.catchUp ?? 'none',
    paused: flag(raw, 'paused') ?? base?.paused ?? false,
    createdAt: base?.createdAt ?? now,
  };
  if (command) schedule.command = command;
  const timeoutMs = timeout === undefined ? base?.timeoutMs : timeout * 1000;
  if (timeoutMs) schedule.timeoutMs = timeoutMs;
  const maxRetries = integer(raw, 'max_retries', 100) ?? base?.maxRetries;
  if (maxRetries !== undefined) schedule.maxRetries = maxRetries;
  const environment = 'env' in raw ? env(raw) : base?.env;
  if (environment) schedule.env = environment;
  return schedule;
}
