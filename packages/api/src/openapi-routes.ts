/**
 * What each route takes, for `GET /openapi.json`. Keyed by "METHOD /path" exactly as registered;
 * a registered route missing here is published flagged `x-undocumented` (a test checks none is).
 */

import { DATA } from './openapi-schemas.js';

/** A request field: its JSON schema type and what it means. */
export type FieldDoc = { type: 'string' | 'integer' | 'boolean' | 'array' | 'object'; description: string; format?: string };

export interface RouteDoc {
  summary: string;
  tags: string[];
  /** Body fields (multipart/form-data, x-www-form-urlencoded or JSON). */
  body?: Record<string, FieldDoc>;
  required?: string[];
  /** Query parameters. */
  query?: Record<string, FieldDoc>;
  /** Success content type when not the JSON envelope. */
  produces?: string;
  /** The schema of the envelope's `data` on success (openapi-schemas.ts); ignored with `produces`. */
  data: Record<string, unknown>;
  /** Error statuses this route answers besides 400/401. */
  errors?: number[];
}

const page: Record<string, FieldDoc> = {
  limit: { type: 'integer', description: 'Page size, 1-1000 (default 100)' },
  offset: { type: 'integer', description: 'Items to skip (default 0)' },
};

const historyRange: Record<string, FieldDoc> = {
  channel: { type: 'string', description: 'Runs of this channel' },
  from: { type: 'string', description: 'Finished at or after: RFC 3339, or unix seconds' },
  to: { type: 'string', description: 'Finished before: RFC 3339, or unix seconds' },
};

const channelSettings: Record<string, FieldDoc> = {
  worker: { type: 'integer', description: 'Command slots per host (1-1024)' },
  distinct: { type: 'boolean', description: 'Refuse a command line already queued or running in the channel' },
  paused: { type: 'boolean', description: 'Take no new tasks; running ones finish' },
  max_retries: { type: 'integer', description: 'Default retries after a failure' },
  timeout: { type: 'integer', description: 'Default command timeout in seconds (0: none)' },
  shell: { type: 'boolean', description: 'Run bare task lines through /bin/sh -c' },
  global_workers: { type: 'integer', description: 'Most tasks running at once across every host (0: no cap)' },
  allowed_commands: {
    type: 'array',
    description: 'Programs the channel accepts: exact names or patterns with * and ?; empty: any. Repeat the field, or a JSON array.',
  },
};

const scheduleFields: Record<string, FieldDoc> = {
  name: { type: 'string', description: 'Schedule name, 1-64 characters of [A-Za-z0-9_.:-]' },
  cron: { type: 'string', description: '5 fields (minute hour day month weekday) or 6 (seconds first)' },
  timezone: { type: 'string', description: 'IANA time zone the expression is read in (default UTC)' },
  channel: { type: 'string', description: 'Channel its runs go to (default: default)' },
  task: { type: 'string', description: 'Command line to run (or command + args)' },
  command: { type: 'string', description: 'Program to exec directly, no shell' },
  args: { type: 'array', description: 'Arguments of command (repeat the field, or a JSON array)' },
  timeout: { type: 'integer', description: 'Kill a run after this many seconds' },
  env: { type: 'object', description: 'Extra environment variables (JSON object of strings)' },
  max_retries: { type: 'integer', description: 'Retries of a failed run (default: the channel’s)' },
  distinct: { type: 'boolean', description: 'Skip a tick while the same command line is queued or running' },
  overlap: { type: 'string', description: 'allow (default) | skip (a tick while the previous run lasts) | replace (kill it)' },
  catch_up: { type: 'string', description: 'none (default): ticks missed while no master ran are dropped; once: one run for them' },
  paused: { type: 'boolean', description: 'Fire no tick until resumed' },
};

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'POST /push': {
    data: DATA.pushed,
    summary: "Push a task line (TaskRunner's route)",
    tags: ['tasks'],
    body: {
      task: { type: 'string', description: 'Command line to run' },
      channel: { type: 'string', description: 'Channel (default: -channel-default)' },
    },
    required: ['task'],
    errors: [403, 404, 413],
  },
  'POST /channels/{name}': {
    data: DATA.pushed,
    summary: 'Push a task line into a channel',
    tags: ['tasks'],
    body: { task: { type: 'string', description: 'Command line to run' } },
    required: ['task'],
    errors: [403, 404, 413],
  },
  'POST /channels/{name}/tasks': {
    data: DATA.pushed,
    summary: 'Push a task with a command, arguments and options',
    tags: ['tasks'],
    body: {
      task: { type: 'string', description: 'Task name; the command line itself when command is absent' },
      command: { type: 'string', description: 'Program to exec (no shell); the interpreter when a script is uploaded' },
      args: { type: 'array', description: 'Arguments of command; repeat the field (args=a&args=b) or a JSON array' },
      delay: { type: 'integer', description: 'Seconds before it may start' },
      id: { type: 'string', description: 'Task id (1-128 of [A-Za-z0-9_.:-]); generated when absent' },
      timeout: { type: 'integer', description: 'Kill after this many seconds (default: the channel timeout)' },
      max_retries: { type: 'integer', description: 'Retries after a failure (default: the channel setting)' },
      cwd: { type: 'string', description: 'Working directory inside the command root' },
      env: { type: 'object', description: 'Extra environment: a JSON object of strings, or env[NAME]=value fields' },
      callback: {
        type: 'string',
        format: 'uri',
        description: 'URL POSTed the final task (GET /tasks/{id} data) as JSON, retried with backoff',
      },
      script: {
        type: 'string',
        format: 'binary',
        description: 'Script file (multipart) or text, at most 256 KiB, run as `command <file> args...`',
      },
    },
    errors: [403, 404, 409, 413],
  },
  'GET /channels': {
    data: DATA.channels,
    summary: 'Every channel with its running and queued tasks (one page) and count',
    tags: ['channels'],
    query: page,
  },
  'GET /status': { data: DATA.channels, summary: "Same as GET /channels (TaskRunner's route)", tags: ['channels'], query: page },
  'GET /channels/{name}': {
    data: DATA.channel,
    summary: "One channel's running and queued tasks (one page) and count",
    tags: ['channels'],
    query: page,
    errors: [404],
  },
  'POST /channels': {
    data: DATA.nothing,
    summary: 'Create a channel, or update one that exists',
    tags: ['channels'],
    body: { name: { type: 'string', description: 'Channel name: 1-64 of [A-Za-z0-9_.:-]' }, ...channelSettings },
    required: ['name'],
  },
  'POST /queue': {
    data: DATA.nothing,
    summary: "Same as POST /channels (TaskRunner's route)",
    tags: ['channels'],
    body: { name: { type: 'string', description: 'Channel name: 1-64 of [A-Za-z0-9_.:-]' }, ...channelSettings },
    required: ['name'],
  },
  'PATCH /channels/{name}': {
    data: DATA.settings,
    summary: "Change a channel's settings live",
    tags: ['channels'],
    body: channelSettings,
    errors: [404],
  },
  'DELETE /channels/{name}': { data: DATA.nothing, summary: 'Delete a channel (its process drains)', tags: ['channels'], errors: [404] },
  'GET /channels/{name}/failed-tasks': {
    data: DATA.failedById,
    summary: 'Failed tasks, most recent first (X-Total-Count: all of them)',
    tags: ['failed'],
    query: page,
    errors: [404],
  },
  'GET /channels/{name}/failed-tasks/{id}': { data: DATA.seedTask, summary: 'One failed task', tags: ['failed'], errors: [404] },
  'POST /channels/{name}/failed-tasks/{id}': { data: DATA.nothing, summary: 'Retry a failed task', tags: ['failed'], errors: [404, 409] },
  'DELETE /channels/{name}/failed-tasks/{id}': { data: DATA.nothing, summary: 'Delete a failed task', tags: ['failed'], errors: [404] },
  'GET /delay-tasks': {
    data: DATA.failedById,
    summary: 'Delayed tasks, soonest first (X-Total-Count: all of them)',
    tags: ['delayed'],
    query: page,
  },
  'GET /delay-tasks/{id}': { data: DATA.seedTask, summary: 'One delayed task', tags: ['delayed'], errors: [404] },
  'DELETE /delay-tasks/{id}': { data: DATA.seedTask, summary: 'Cancel a delayed task', tags: ['delayed'], errors: [404] },
  'GET /tasks/{id}': {
    data: DATA.task,
    summary: 'A task: status, result, exit code, timings, host, output tails',
    tags: ['tasks'],
    errors: [404],
  },
  'GET /tasks/{id}/logs': {
    data: DATA.nothing,
    summary: "Follow a task's stdout/stderr as Server-Sent Events, ending with a done record",
    tags: ['tasks'],
    produces: 'text/event-stream',
    query: { cursor: { type: 'string', description: 'Resume after this record id (or send Last-Event-ID)' } },
    errors: [404, 503],
  },
  'POST /tasks/{id}/kill': { data: DATA.taskAction, summary: 'Kill a running task wherever it runs', tags: ['tasks'], errors: [404, 409] },
  'DELETE /channels/{name}/tasks/{id}': {
    data: DATA.taskAction,
    summary: 'Cancel a queued or delayed task, kill a running one',
    tags: ['tasks'],
    errors: [404, 409],
  },
  'GET /schedules': {
    data: DATA.schedules,
    summary: 'Every schedule with its next 5 fire times and its last run (task id, status, exit code)',
    tags: ['schedules'],
  },
  'POST /schedules': {
    data: DATA.schedule,
    summary: 'Create a cron-style schedule, fired exactly once per tick across every host',
    tags: ['schedules'],
    body: scheduleFields,
    required: ['name', 'cron'],
    errors: [403, 404, 409],
  },
  'GET /schedules/{name}': {
    data: DATA.schedule,
    summary: 'One schedule, with its next 5 fire times and its last run',
    tags: ['schedules'],
    errors: [404],
  },
  'PATCH /schedules/{name}': {
    data: DATA.schedule,
    summary: 'Change a schedule live (paused=true|false pauses or resumes it)',
    tags: ['schedules'],
    body: scheduleFields,
    errors: [403, 404],
  },
  'DELETE /schedules/{name}': {
    data: DATA.scheduleDeleted,
    summary: 'Delete a schedule (no master fires it once this answers)',
    tags: ['schedules'],
    errors: [404],
  },
  'POST /schedules/{name}/run': {
    data: DATA.scheduleRun,
    summary: 'Run a schedule now, outside its cron (overlap and distinct apply; its next tick is unchanged)',
    tags: ['schedules'],
    errors: [404],
  },
  'GET /dead-letters': {
    data: DATA.deadLetterPage,
    summary: 'Malformed prepare-queue entries and given-up callbacks, with reasons',
    tags: ['system'],
    query: page,
  },
  'GET /nodes': { data: DATA.nodes, summary: 'Hosts whose heartbeat is fresh', tags: ['system'] },
  'GET /health': {
    data: DATA.health,
    summary: "Redis reachable and this host's master publishing its figures (no token needed)",
    tags: ['system'],
    errors: [503],
  },
  'GET /stats': { data: DATA.stats, summary: "Per-channel settings and counts, and this host's channel processes", tags: ['system'] },
  'GET /throughput': {
    data: DATA.throughput,
    summary: 'Executions finished and tasks failed per minute over the last 10 minutes (the dashboard chart)',
    tags: ['system'],
    query: { channel: { type: 'string', description: 'One channel (default: all, summed)' } },
    errors: [404],
  },
  'GET /metrics': {
    data: DATA.nothing,
    summary: 'Prometheus text: depths, totals, duration histogram, process CPU/RSS',
    tags: ['system'],
    produces: 'text/plain',
  },
  // the operator's view: every task listed, dead letters acted on
  'GET /tasks': {
    summary: 'Tasks of every channel (or one) and state (or one): running, queued, delayed, failed, succeeded, cancelled',
    tags: ['tasks'],
    data: DATA.taskPage,
    query: {
      channel: { type: 'string', description: 'Only this channel' },
      state: { type: 'string', description: 'Only this state: queued, running, delayed, failed, succeeded (or done), cancelled' },
      ...page,
    },
    errors: [404],
  },
  'GET /dead-letters/{id}': { summary: 'One dead letter', tags: ['system'], data: DATA.deadLetter, errors: [404] },
  'POST /dead-letters/{id}': {
    summary: 'Requeue a dead letter: an entry back into the prepare queue (the same door again), a callback armed again',
    tags: ['system'],
    data: DATA.requeued,
    errors: [404],
  },
  'DELETE /dead-letters/{id}': { summary: 'Remove a dead letter; answers it', tags: ['system'], data: DATA.deadLetter, errors: [404] },
  'GET /openapi.json': { data: DATA.nothing, summary: 'This description', tags: ['system'], produces: 'application/json' },
  'GET /history': {
    data: DATA.historyPage,
    summary: 'Finished runs kept in the SQL task history (-history-url), newest first, by cursor',
    tags: ['history'],
    query: {
      ...historyRange,
      status: { type: 'string', description: 'succeeded, failed, killed, timed out or cancelled' },
      command: { type: 'string', description: 'Runs whose command line contains this text' },
      node: { type: 'string', description: 'Runs of this node id' },
      limit: { type: 'integer', description: 'Page size, 1-500 (default 50)' },
      cursor: { type: 'string', description: "The previous page's next_cursor" },
    },
    errors: [404],
  },
  'GET /history/stats': {
    data: DATA.historyStats,
    summary: 'Runs, failure rate (failed and timed out) and p50/p95 duration per channel and per command (the 100 busiest)',
    tags: ['history'],
    query: historyRange,
    errors: [404],
  },
};
