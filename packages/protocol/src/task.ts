import { join } from 'shlex';
/**
 * A task as stored in Redis and handed to a runner: the command and how to run it.
 * Immutable once accepted; what happens to it lives in its state and result.
 */
export interface TaskSpec {
  /** Unique id: given by the producer or generated (nanoid). */
  id: string;
  channel: string;
  /** The seed's `task_name`: shown in listings; the command line itself when `command` is absent. */
  name: string;
  /** Exec this program directly with these arguments, no shell. */
  command?: TaskCommand;
  /** Kill the command after this many ms (0 or absent: the channel default). */
  timeoutMs?: number;
  /** Retries after a failure before the task is parked as failed; absent: the channel default. */
  maxRetries?: number;
  /** Working directory, inside the configured command root. */
  cwd?: string;
  /** Extra environment variables for the command. */
  env?: Record<string, string>;
  /** Unix ms the task was accepted. */
  createdAt: number;
  /** Unix ms before which it must not start (delayed tasks). */
  executeAt?: number;
  /** Dedup fingerprint of the command line, set in distinct channels. */
  fingerprint?: string;
  /** Where it came from. */
  source: TaskSource;
  /** URL that receives the task's final result as JSON (POSTed, retried with backoff). */
  callback?: string;
  /** An uploaded script, run as `command.name <script file> ...args` on whatever host runs the task. */
  script?: TaskScript;
  /** Came in through task-job's queue: its `type`, copied into its TaskLog records. */
  taskJob?: { type: string };
  /** The schedule that fired this run, when a schedule did. */
  schedule?: string;
  /** A run pre-enqueued for a tick of a catch_up once schedule: kept, late, should no master promote it in time. */
  scheduleCatchUp?: 'once';
}

/** What a producer-chosen task id must be, as the refusal says it. */
export const TASK_ID_RULE = 'id must be 1-128 characters of [A-Za-z0-9_.:-], and not "." or ".."';

/** Producer-chosen ids: key- and URL-safe; `.` and `..` would be resolved away in a route's path. */
export function isValidTaskId(id: string): boolean {
  return /^[A-Za-z0-9_.:-]{1,128}$/.test(id) && id !== '.' && id !== '..';
}

/** A script stored with its task (bounded size) and written to a temp file only while it runs. */
export interface TaskScript {
  /** The uploaded file name, for display; the file on disk gets a name of its own. */
  name: string;
  /** The script's bytes, base64. */
  base64: string;
}

export interface TaskCommand {
  name: string;
  args: string[];
}

export type TaskSource = 'http' | 'prepare-queue' | 'cli' | 'task-job' | 'schedule';

/** The closed set of states a task can be in. */
export type TaskState = 'delayed' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Why a command ended the way it did, recorded with its result. */
export type TaskOutcome = 'exited' | 'signaled' | 'timed-out' | 'killed' | 'spawn-error' | 'poison';

/** What one execution of a task produced. */
export interface TaskResult {
  outcome: TaskOutcome;
  exitCode: number | null;
  signal: string | null;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  host: string;
  nodeId: string;
  pid: number | null;
  /** Last bytes of stdout/stderr, bounded. */
  stdoutTail: string;
  stderrTail: string;
  error?: string;
}

/** A result as `GET /tasks/{id}` answers it: snake_case names, RFC 3339 times (the api, CLI and dashboard share it). */
export interface TaskResultView {
  outcome: TaskOutcome;
  exit_code: number | null;
  signal: string | null;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  host: string;
  node_id: string;
  pid: number | null;
  stdout_tail: string;
  stderr_tail: string;
  error: string | null;
}

/**
 * The result of an execution in which no command ran (refused at its start, poisoned, cancelled):
 * no process, no output, no duration, at `at`; `fields` fills in what the caller knows.
 */
export function unranResult(outcome: TaskOutcome, at: number, fields: Partial<TaskResult> = {}): TaskResult {
  const none = { exitCode: null, signal: null, durationMs: 0, host: '', nodeId: '', pid: null, stdoutTail: '', stderrTail: '' };
  return { outcome, startedAt: at, finishedAt: at, ...none, ...fields };
}

/** A result is a success when the command exited 0. */
export function isSuccess(result: TaskResult): boolean {
  return result.outcome === 'exited' && result.exitCode === 0;
}

/**
 * An argv as a shell would need it typed (`sh -c 'while :; do :; done'`): how a task given as a
 * command and arguments is named and shown, so what is shown can be pasted back and means the same.
 */
export function shellQuoted(argv: readonly string[]): string {
  return join([...argv]);
}

/** The command line a task shows and, without `command`, runs. */
export function commandLine(spec: Pick<TaskSpec, 'name' | 'command'>): string {
  if (spec.command === undefined) return spec.name;
  return [spec.command.name, ...spec.command.args].join(' ');
}

/**
 * The command line as shown to people: a task given as command and arguments shell-quoted (its
 * `commandLine` stays the plain join: it keys a distinct channel's dedup markers, kept in Redis).
 */
export function shownCommandLine(spec: Pick<TaskSpec, 'name' | 'command'>): string {
  if (spec.command === undefined) return spec.name;
  return shellQuoted([spec.command.name, ...spec.command.args]);
}
