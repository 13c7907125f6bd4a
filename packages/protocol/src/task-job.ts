import path from 'node:path';
import { MAX_TIMEOUT_S } from './door.js';
import { TASK_ID_RULE, isValidTaskId } from './task.js';
import type { TaskResult } from './task.js';

/**
 * task-job compatibility (../shared/seeds/task-job-readme.md): its queue, its control queue and
 * its log records, as its config.json names them. Set only when the config file holds one of
 * task-job's keys; absent, none of this runs.
 */
export interface TaskJobOptions {
  /** List producers RPUSH Task records to (`queue_name`). @defaultValue 'queue_job_task' */
  queue: string;
  /** List producers RPUSH TaskControl records to (`queue_control_name`). @defaultValue '{queue}_control' */
  controlQueue: string;
  /** Report output lines and `done` as TaskLog records (`logs`). @defaultValue true (task-job's own default) */
  logs: boolean;
  /** List the TaskLog records are RPUSHed to (`logs_channel`). @defaultValue '{queue}_logs' */
  logsChannel: string;
  /** URL the TaskLog records are also POSTed to (`logs_http`), at least once. */
  logsHttp?: string;
  /** Scripts run from here, and nothing outside it (`cmd_dir`). @defaultValue '/tmp' */
  cmdDir: string;
}

export const TASK_JOB_DEFAULT_QUEUE = 'queue_job_task';
export const TASK_JOB_DEFAULT_CMD_DIR = '/tmp';
/** Records kept in the logs list (LTRIM keeps the newest); a consumer that stopped reading cannot fill Redis. */
export const TASK_JOB_LOGS_MAX = 100_000;

/** A task-job Task read from its queue, before it becomes a Coyotes task. */
export interface TaskJobTask {
  id: string;
  /** Copied into every TaskLog record of the task. */
  type: string;
  /** The channel it asks for; the default channel when it names none that exists. */
  tube?: string;
  /** The argv task-job runs: `bash <cmd_dir>/<cmdline> <cmd_args…>`. */
  argv: string[];
  /** `cmdline` and `cmd_args` joined with spaces: the task's name in listings. */
  line: string;
  /** Absent: no timeout (task-job: 0 or less). */
  timeoutMs?: number;
}

export type TaskJobParse<T> = { ok: true; value: T } | { ok: false; reason: string };

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const TASK_FIELDS = new Set(['id', 'type', 'tube', 'task']);
const TASK_DATA_FIELDS = new Set(['cmdline', 'cmd_args', 'timeout']);
const CONTROL_FIELDS = new Set(['id', 'type']);

function unknownField(doc: Json, known: Set<string>, where: string): string | undefined {
  const key = Object.keys(doc).find((name) => !known.has(name));
  return key === undefined ? undefined : `unknown field ${where}${JSON.stringify(key.slice(0, 64))} (takes ${[...known].join(', ')})`;
}

function jsonObject(raw: string): TaskJobParse<Json> {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  return isObject(doc) ? { ok: true, value: doc } : { ok: false, reason: 'not a JSON object' };
}

function readId(doc: Json): TaskJobParse<string> {
  // task-job's id is a string; a number is taken as its decimal text
  if (typeof doc.id !== 'string' && typeof doc.id !== 'number') return { ok: false, reason: 'id must be a string (the task id)' };
  const id = String(doc.id);
  return isValidTaskId(id) ? { ok: true, value: id } : { ok: false, reason: TASK_ID_RULE };
}

/**
 * Reads one entry of task-job's queue: `{"id","type","tube","task":{"cmdline","cmd_args","timeout"}}`.
 * task-job runs `bash filepath.Join(cmd_dir, cmdline) cmd_args…` in a context that times out
 * after `timeout` seconds (none when ≤ 0); a script path that leaves cmd_dir is refused here.
 */
export function parseTaskJobEntry(raw: string, cmdDir: string): TaskJobParse<TaskJobTask> {
  const read = jsonObject(raw);
  if (!read.ok) return read;
  const doc = read.value;
  if (!isObject(doc.task)) return { ok: false, reason: 'task must be an object {"cmdline","cmd_args","timeout"}' };
  const task = doc.task;
  const unknown = unknownField(doc, TASK_FIELDS, '') ?? unknownField(task, TASK_DATA_FIELDS, 'task.');
  if (unknown) return { ok: false, reason: unknown };
  const id = readId(doc);
  if (!id.ok) return id;
  if (doc.type !== undefined && typeof doc.type !== 'string') return { ok: false, reason: 'type must be a string' };
  if (doc.tube !== undefined && doc.tube !== null && typeof doc.tube !== 'string') return { ok: false, reason: 'tube must be a string' };
  if (typeof task.cmdline !== 'string' || task.cmdline.trim() === '')
    return { ok: false, reason: 'task.cmdline must be a non-empty string' };
  const args = task.cmd_args ?? [];
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) {
    return { ok: false, reason: 'task.cmd_args must be an array of strings' };
  }
  let timeoutMs: number | undefined;
  if (task.timeout !== undefined && task.timeout !== null) {
    if (typeof task.timeout !== 'number' || !Number.isFinite(task.timeout) || task.timeout > MAX_TIMEOUT_S) {
      return { ok: false, reason: `task.timeout must be a number of seconds, at most ${MAX_TIMEOUT_S}` };
    }
    if (task.timeout > 0) timeoutMs = Math.round(task.timeout * 1000);
  }
  const script = path.join(cmdDir, task.cmdline);
  if (script !== cmdDir && !script.startsWith(cmdDir.endsWith('/') ? cmdDir : `${cmdDir}/`)) {
    return { ok: false, reason: `task.cmdline ${JSON.stringify(task.cmdline.slice(0, 200))} leads outside cmd_dir ${cmdDir}` };
  }
  const parsed: TaskJobTask = {
    id: id.value,
    type: doc.type ?? '',
    argv: ['bash', script, ...(args as string[])],
    line: [task.cmdline, ...(args as string[])].join(' '),
  };
  if (typeof doc.tube === 'string' && doc.tube !== '') parsed.tube = doc.tube;
  if (timeoutMs !== undefined) parsed.timeoutMs = timeoutMs;
  return { ok: true, value: parsed };
}

/** A TaskControl record: task-job knows one type, `kill`. */
export interface TaskJobControl {
  id: string;
  type: 'kill';
}

/** Reads one entry of task-job's control queue: `{"id","type":"kill"}`. */
export function parseTaskJobControl(raw: string): TaskJobParse<TaskJobControl> {
  const read = jsonObject(raw);
  if (!read.ok) return read;
  const doc = read.value;
  const unknown = unknownField(doc, CONTROL_FIELDS, '');
  if (unknown) return { ok: false, reason: unknown };
  const id = readId(doc);
  if (!id.ok) return id;
  if (doc.type !== 'kill') return { ok: false, reason: `type must be "kill", got ${JSON.stringify(doc.type)}` };
  return { ok: true, value: { id: id.value, type: 'kill' } };
}

export type TaskJobMsgType = 'stdout' | 'stderr' | 'done';

/**
 * One TaskLog record as task-job writes it: Go's `json.MarshalIndent(log, "", "    ")` of
 * `{id, type, child_num, msg_type, data}` (child_num is always 0: task-job never split a task),
 * with Go's escaping of <, > and & kept, so a consumer sees the same bytes.
 */
export function taskJobLogRecord(id: string, type: string, msgType: TaskJobMsgType, data: string): string {
  return JSON.stringify({ id, type, child_num: 0, msg_type: msgType, data }, null, 4)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The `data` of a task's `done` record: `exit <code>`, or `signal <NAME>`, followed by why when
 * Coyotes ended it (` (timeout)`, ` (killed)`), or `error: <reason>` when it could not start.
 */
export function taskJobDoneData(result: Pick<TaskResult, 'outcome' | 'exitCode' | 'signal' | 'error'>): string {
  if (result.outcome === 'spawn-error' || (result.exitCode === null && result.signal === null)) {
    return `error: ${result.error ?? result.outcome}`;
  }
  const how = result.signal !== null ? `signal ${result.signal}` : `exit ${result.exitCode}`;
  if (result.outcome === 'timed-out') return `${how} (timeout)`;
  if (result.outcome === 'killed') return `${how} (killed)`;
  return how;
}
