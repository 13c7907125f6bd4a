/**
 * What each route takes, for `GET /openapi.json`. Keyed by "METHOD /path" exactly as registered;
 * a registered route missing here is published flagged `x-undocumented` (a test checks none is).
 */

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

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'POST /push': {
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
    summary: 'Push a task line into a channel',
    tags: ['tasks'],
    body: { task: { type: 'string', description: 'Command line to run' } },
    required: ['task'],
    errors: [403, 404, 413],
  },
  'POST /channels/{name}/tasks': {
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
  'GET /channels': { summary: 'Every channel with its running and queued tasks (one page) and count', tags: ['channels'], query: page },
  'GET /status': { summary: "Same as GET /channels (TaskRunner's route)", tags: ['channels'], query: page },
  'GET /channels/{name}': {
    summary: "One channel's running and queued tasks (one page) and count",
    tags: ['channels'],
    query: page,
    errors: [404],
  },
  'POST /channels': {
    summary: 'Create a channel, or update one that exists',
    tags: ['channels'],
    body: { name: { type: 'string', description: 'Channel name: 1-64 of [A-Za-z0-9_.:-]' }, ...channelSettings },
    required: ['name'],
  },
  'POST /queue': {
    summary: "Same as POST /channels (TaskRunner's route)",
    tags: ['channels'],
    body: { name: { type: 'string', description: 'Channel name: 1-64 of [A-Za-z0-9_.:-]' }, ...channelSettings },
    required: ['name'],
  },
  'PATCH /channels/{name}': { summary: "Change a channel's settings live", tags: ['channels'], body: channelSettings, errors: [404] },
  'DELETE /channels/{name}': { summary: 'Delete a channel (its process drains)', tags: ['channels'], errors: [404] },
  'GET /channels/{name}/failed-tasks': {
    summary: 'Failed tasks, most recent first (X-Total-Count: all of them)',
    tags: ['failed'],
    query: page,
    errors: [404],
  },
  'GET /channels/{name}/failed-tasks/{id}': { summary: 'One failed task', tags: ['failed'], errors: [404] },
  'POST /channels/{name}/failed-tasks/{id}': { summary: 'Retry a failed task', tags: ['failed'], errors: [404, 409] },
  'DELETE /channels/{name}/failed-tasks/{id}': { summary: 'Delete a failed task', tags: ['failed'], errors: [404] },
  'GET /delay-tasks': { summary: 'Delayed tasks, soonest first (X-Total-Count: all of them)', tags: ['delayed'], query: page },
  'GET /delay-tasks/{id}': { summary: 'One delayed task', tags: ['delayed'], errors: [404] },
  'DELETE /delay-tasks/{id}': { summary: 'Cancel a delayed task', tags: ['delayed'], errors: [404] },
  'GET /tasks/{id}': { summary: 'A task: status, result, exit code, timings, host, output tails', tags: ['tasks'], errors: [404] },
  'GET /tasks/{id}/logs': {
    summary: "Follow a task's stdout/stderr as Server-Sent Events, ending with a done record",
    tags: ['tasks'],
    produces: 'text/event-stream',
    query: { cursor: { type: 'string', description: 'Resume after this record id (or send Last-Event-ID)' } },
    errors: [404, 503],
  },
  'POST /tasks/{id}/kill': { summary: 'Kill a running task wherever it runs', tags: ['tasks'], errors: [404, 409] },
  'DELETE /channels/{name}/tasks/{id}': {
    summary: 'Cancel a queued or delayed task, kill a running one',
    tags: ['tasks'],
    errors: [404, 409],
  },
  'GET /dead-letters': { summary: 'Malformed prepare-queue entries and given-up callbacks, with reasons', tags: ['system'], query: page },
  'GET /nodes': { summary: 'Hosts whose heartbeat is fresh', tags: ['system'] },
  'GET /health': { summary: 'Redis reachable and master answering (no token needed)', tags: ['system'], errors: [503] },
  'GET /stats': { summary: "Per-channel settings and counts, and this host's channel processes", tags: ['system'] },
  'GET /metrics': {
    summary: 'Prometheus text: depths, totals, duration histogram, process CPU/RSS',
    tags: ['system'],
    produces: 'text/plain',
  },
  'GET /openapi.json': { summary: 'This description', tags: ['system'], produces: 'application/json' },
  'GET /history': {
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
    summary: 'Runs, failure rate (failed and timed out) and p50/p95 duration per channel and per command (the 100 busiest)',
    tags: ['history'],
    query: historyRange,
    errors: [404],
  },
};
