import { shellQuoted } from './task.js';
import { MAX_DELAY_S, MAX_TIMEOUT_S } from './door.js';
import type { TaskCommand, TaskScript, TaskSource, TaskSpec } from './task.js';

/** What a producer asked for, before ids and defaults are applied. */
export interface TaskInput {
  id?: string;
  channel?: string;
  name: string;
  command?: TaskCommand;
  timeoutMs?: number;
  /** Unix ms before which it must not start. */
  executeAt?: number;
}

export type IngressParse = { ok: true; input: TaskInput } | { ok: false; reason: string };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/** The fields each entry shape has (the seed's, task-job's, Coyotes' additions); any other is refused. */
const ENTRY_FIELDS = new Set(['task', 'chan', 'channel', 'ts', 'id', 'command', 'execute_at']);
const TASK_JOB_FIELDS = new Set(['id', 'type', 'tube', 'chan', 'task']);
const TASK_JOB_TASK_FIELDS = new Set(['cmdline', 'cmd_args', 'timeout']);
const COMMAND_FIELDS = new Set(['name', 'args']);

/** The reason an object has a field its shape does not, or undefined. */
function unknownField(doc: Json, known: Set<string>, where: string): string | undefined {
  const key = Object.keys(doc).find((name) => !known.has(name));
  return key === undefined ? undefined : `unknown field ${where}${JSON.stringify(key.slice(0, 64))} (takes ${[...known].join(', ')})`;
}

/**
 * A value where a string is expected, at every door: a string as it is, a finite number as its text
 * (PHP producers send `42` or `1.5` in JSON and get "42" and "1.5"); anything else (true/false, an
 * object, an array, null, a number JSON cannot write such as 1e400) is undefined, for the caller to refuse.
 */
export function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

function parseArgs(value: unknown): string[] | undefined | false {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return false;
  const args = value.map(textOf);
  return args.every((arg) => arg !== undefined) ? (args as string[]) : false;
}

/**
 * Reads one entry of the seed's prepare queue. Accepted shapes:
 * - Coyotes: `{"task","chan","ts"}`, optionally `"id"`, `"command":{"name","args"}`, `"execute_at"` (unix s);
 * - task-job: `{"id","tube","task":{"cmdline","cmd_args","timeout"}}` (`tube` is the channel, timeout in s).
 */
export function parseIngressEntry(raw: string): IngressParse {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  if (!isObject(doc)) return { ok: false, reason: 'not a JSON object' };
  // an empty or malformed id string is left to the door's id rule (the reason names it), as over HTTP
  if (doc.id !== undefined && typeof doc.id !== 'string' && typeof doc.id !== 'number') {
    return { ok: false, reason: 'id must be a string' };
  }
  const id = doc.id === undefined ? undefined : String(doc.id);

  if (isObject(doc.task)) return parseTaskJob(doc, doc.task, id);
  const unknown = unknownField(doc, ENTRY_FIELDS, '');
  if (unknown) return { ok: false, reason: unknown };
  if (doc.task !== undefined && doc.task !== null && typeof doc.task !== 'string') {
    return { ok: false, reason: 'task must be a string (the command line)' };
  }

  const channel = doc.chan ?? doc.channel;
  if (channel !== undefined && !nonEmptyString(channel)) return { ok: false, reason: 'chan must be a string' };
  let command: TaskCommand | undefined;
  if (doc.command !== undefined && doc.command !== null) {
    if (!isObject(doc.command) || !nonEmptyString(doc.command.name))
      return { ok: false, reason: 'command.name must be a non-empty string' };
    const unknownInCommand = unknownField(doc.command, COMMAND_FIELDS, 'command.');
    if (unknownInCommand) return { ok: false, reason: unknownInCommand };
    const args = parseArgs(doc.command.args);
    if (args === false) return { ok: false, reason: 'command.args must be an array of strings' };
    command = { name: doc.command.name, args: args ?? [] };
  }
  const name = nonEmptyString(doc.task) ? doc.task : command ? shellQuoted([command.name, ...command.args]) : undefined;
  if (name === undefined) return { ok: false, reason: 'task must be a non-empty command line' };
  let executeAt: number | undefined;
  if (doc.execute_at !== undefined && doc.execute_at !== null && doc.execute_at !== 0) {
    // a timestamp in ms or µs would be read as a date thousands of years ahead: refused, not kept forever
    const latest = Date.now() / 1000 + MAX_DELAY_S;
    if (typeof doc.execute_at !== 'number' || !Number.isFinite(doc.execute_at) || doc.execute_at < 0 || doc.execute_at > latest) {
      return { ok: false, reason: 'execute_at must be a unix timestamp in seconds, at most ten years ahead' };
    }
    executeAt = Math.round(doc.execute_at * 1000);
  }
  return { ok: true, input: { id, channel, name, command, executeAt } };
}

function parseTaskJob(doc: Json, task: Json, id: string | undefined): IngressParse {
  const unknown = unknownField(doc, TASK_JOB_FIELDS, '') ?? unknownField(task, TASK_JOB_TASK_FIELDS, 'task.');
  if (unknown) return { ok: false, reason: unknown };
  if (!nonEmptyString(task.cmdline)) return { ok: false, reason: 'task.cmdline must be a non-empty string' };
  const args = parseArgs(task.cmd_args);
  if (args === false) return { ok: false, reason: 'task.cmd_args must be an array of strings' };
  const channel = doc.tube ?? doc.chan;
  if (channel !== undefined && !nonEmptyString(channel)) return { ok: false, reason: 'tube must be a string' };
  let timeoutMs: number | undefined;
  if (task.timeout !== undefined && task.timeout !== null) {
    if (typeof task.timeout !== 'number' || !Number.isFinite(task.timeout) || task.timeout > MAX_TIMEOUT_S)
      return { ok: false, reason: `task.timeout must be a number of seconds, at most ${MAX_TIMEOUT_S}` };
    // task-job: "less than 0: no timeout"
    timeoutMs = task.timeout > 0 ? Math.round(task.timeout * 1000) : undefined;
  }
  // task-job joins cmdline and cmd_args into one line and runs it
  const name = [task.cmdline, ...(args ?? [])].join(' ');
  return { ok: true, input: { id, channel, name, timeoutMs } };
}

/** Turns a producer's input into the spec stored in Redis; absent fields stay absent (smaller tasks). */
export function taskSpecFrom(
  input: TaskInput & {
    cwd?: string;
    env?: Record<string, string>;
    maxRetries?: number;
    callback?: string;
    script?: TaskScript;
    taskJob?: TaskSpec['taskJob'];
  },
  fill: { id: string; channel: string; source: TaskSource; now: number },
): TaskSpec {
  const spec: TaskSpec = { id: input.id ?? fill.id, channel: fill.channel, name: input.name, createdAt: fill.now, source: fill.source };
  if (input.command) spec.command = input.command;
  if (input.timeoutMs) spec.timeoutMs = input.timeoutMs;
  if (input.maxRetries !== undefined) spec.maxRetries = input.maxRetries;
  if (input.cwd) spec.cwd = input.cwd;
  if (input.env && Object.keys(input.env).length > 0) spec.env = input.env;
  if (input.executeAt !== undefined && input.executeAt > fill.now) spec.executeAt = input.executeAt;
  if (input.callback) spec.callback = input.callback;
  if (input.script) spec.script = input.script;
  if (input.taskJob) spec.taskJob = input.taskJob;
  return spec;
}
