/**
 * What each route answers in its envelope's `data`, as OpenAPI 3.0 schemas (`GET /openapi.json`
 * publishes them under components.schemas). Field names and order follow the presenters in
 * present.ts and the routes; a test validates the whole document.
 */

type Schema = Record<string, unknown>;

const string = { type: 'string' };
const integer = { type: 'integer' };
const boolean = { type: 'boolean' };
const nullable = (schema: Schema): Schema => ({ ...schema, nullable: true });
const object = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
});
export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
/** A seed map keyed by task id. */
const byId = (name: string): Schema => ({ type: 'object', additionalProperties: ref(name) });
/** `data` of a route that answers nothing but success. */
export const NOTHING: Schema = { type: 'object', nullable: true, description: 'Always null' };
const rfc3339 = { type: 'string', description: "RFC 3339 in the server's time zone; 0001-01-01T00:00:00Z means never" };
const time = { type: 'string', format: 'date-time' };

const taskStatus = { type: 'string', enum: ['delayed', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] };
const outcome = { type: 'string', enum: ['exited', 'signaled', 'timed-out', 'killed', 'spawn-error', 'poison'] };

const resultFields = {
  outcome,
  exit_code: nullable(integer),
  signal: nullable(string),
  started_at: time,
  finished_at: time,
  duration_ms: integer,
  host: string,
  node_id: string,
  pid: nullable(integer),
};
const taskFields = {
  task_id: string,
  task_name: string,
  channel: string,
  command_line: { type: 'string', description: 'The command line; a command with arguments shell-quoted' },
  command: ref('TaskCommand'),
  status: taskStatus,
  retry_count: integer,
  created_at: time,
  execute_at: nullable(time),
  failed_at: nullable(time),
  cancelled_at: nullable(time),
  running_since: nullable(time),
  timeout: nullable({ type: 'number', description: 'Seconds' }),
  schedule: nullable({ type: 'string', description: 'The schedule that fired this run' }),
};
const settingsFields = {
  worker: { type: 'integer', description: 'Command slots per host' },
  distinct: boolean,
  max_retries: integer,
  timeout: { type: 'number', description: 'Default command timeout in seconds (0: none)' },
  shell: boolean,
  global_workers: { type: 'integer', description: 'Cap across every host (0: none)' },
  allowed_commands: { type: 'array', items: string, description: 'Empty: any command' },
};
const processStats = nullable({ type: 'object', description: "This host's channel process (pid, alive, cpu, rss, restarts, counters)" });

export const SCHEMAS = {
  TaskCommand: object({ name: string, args: nullable({ type: 'array', items: string }) }),
  SeedTask: object(
    {
      task_id: string,
      task_name: string,
      command: ref('TaskCommand'),
      channel: string,
      status: { type: 'string', description: 'Empty, as the seed answered' },
      execute_at: rfc3339,
      retry_count: integer,
      failed_at: rfc3339,
    },
    ['task_id', 'task_name', 'command', 'channel', 'status', 'retry_count', 'failed_at'],
  ),
  Task: object({
    ...taskFields,
    env: { type: 'array', items: string, description: 'Names only' },
    result: nullable(object({ ...resultFields, stdout_tail: string, stderr_tail: string, error: nullable(string) })),
  }),
  TaskSummary: object({ ...taskFields, result: nullable(object({ ...resultFields, error: nullable(string) })) }),
  TaskPage: object({ count: integer, items: { type: 'array', items: { $ref: '#/components/schemas/TaskSummary' } } }),
  ListedTask: object(
    {
      task_name: string,
      channel: string,
      status: { type: 'string', enum: ['running', 'queued'] },
      task_id: string,
      pid: nullable(integer),
      cpu: nullable({ type: 'number' }),
      rss: nullable(integer),
    },
    ['task_name', 'channel', 'status', 'task_id'],
  ),
  Channel: object(
    {
      tasks: { type: 'array', items: { $ref: '#/components/schemas/ListedTask' } },
      count: { type: 'integer', description: 'Running + queued tasks' },
      workers: integer,
      paused: boolean,
      ...settingsFields,
      process: processStats,
    },
    ['tasks', 'count'],
  ),
  ChannelSettings: object({ name: string, workers: integer, paused: boolean, ...settingsFields }),
  Stats: object({
    node_id: nullable(string),
    channels: {
      type: 'array',
      items: object(
        {
          name: string,
          workers: integer,
          paused: boolean,
          ...settingsFields,
          queued: integer,
          running: integer,
          delayed: integer,
          failed: integer,
          done: integer,
          cancelled: integer,
          process: processStats,
        },
        ['name', 'workers', 'paused', 'distinct', 'queued', 'running', 'delayed', 'failed', 'done'],
      ),
    },
  }),
  Pushed: object(
    { task_id: string, task_name: string, result: { type: 'boolean', description: 'false: a distinct channel has it already' } },
    ['task_name', 'result'],
  ),
  TaskAction: object({ task_id: string, status: { type: 'string', enum: ['killing', 'cancelled'] } }),
  DeadLetter: object({
    id: string,
    reason: string,
    payload: { type: 'string', description: 'The entry as it was read' },
    at: { type: 'integer', description: 'Unix ms' },
    nodeId: string,
  }),
  DeadLetterPage: object({ count: integer, items: { type: 'array', items: { $ref: '#/components/schemas/DeadLetter' } } }),
  Requeued: object({ id: string, requeued: { type: 'string', enum: ['prepare-queue', 'callback'] } }),
  Node: object(
    {
      nodeId: string,
      hostname: string,
      pid: integer,
      version: string,
      startedAt: integer,
      httpAddr: nullable(string),
      taskMode: boolean,
      channels: { type: 'object', additionalProperties: integer },
      lastSeen: integer,
    },
    ['nodeId', 'hostname', 'pid', 'version', 'startedAt', 'lastSeen'],
  ),
  Health: object({
    redis: boolean,
    master: boolean,
    spawner: nullable({ type: 'string', enum: ['native', 'node'] }),
    processes: nullable({ type: 'object', description: "This host's processes, as its master last published them (null when stale)" }),
    history: nullable({
      type: 'object',
      description: 'The SQL task history (null when off): sql (whether SQL takes writes), last_error, outbox, dropped, written, rejected',
    }),
  }),
  Schedule: object({
    name: string,
    cron: string,
    timezone: string,
    channel: string,
    task: nullable(string),
    command: nullable(ref('TaskCommand')),
    timeout: nullable({ type: 'number', description: 'Seconds' }),
    env: { type: 'array', items: string, description: 'Names only: values are not shown' },
    max_retries: nullable(integer),
    distinct: boolean,
    overlap: { type: 'string', enum: ['allow', 'skip', 'replace'] },
    catch_up: { type: 'string', enum: ['none', 'once'] },
    paused: boolean,
    created_at: rfc3339,
    next_runs: { type: 'array', items: time },
    last_run: nullable(
      object({
        task_id: string,
        status: string,
        exit_code: nullable(integer),
        signal: nullable(string),
        finished_at: nullable(rfc3339),
      }),
    ),
  }),
  ScheduleDeleted: object({ name: string, deleted: boolean }),
  ScheduleRun: object({ name: string, task_id: string, result: string }),
  HistoryPage: object({
    items: {
      type: 'array',
      items: {
        type: 'object',
        description: 'One run: task id, attempt, channel, command, status, exit code, signal, node, times, output tails',
      },
    },
    next_cursor: nullable(string),
  }),
  HistoryStats: object({
    channels: { type: 'array', items: { type: 'object', description: 'Runs, failure rate and p50/p95 duration of one channel' } },
    commands: { type: 'array', items: { type: 'object', description: 'Runs, failure rate and p50/p95 duration of one command' } },
  }),
  Throughput: object({
    window_minutes: integer,
    minutes: {
      type: 'array',
      items: object({ start: rfc3339, processed: integer, failed: integer }),
    },
  }),
} satisfies Record<string, Schema>;

export const DATA = {
  pushed: ref('Pushed'),
  channels: { type: 'object', additionalProperties: ref('Channel') },
  channel: ref('Channel'),
  settings: ref('ChannelSettings'),
  failedById: byId('SeedTask'),
  seedTask: ref('SeedTask'),
  task: ref('Task'),
  taskPage: ref('TaskPage'),
  taskAction: ref('TaskAction'),
  deadLetter: ref('DeadLetter'),
  deadLetterPage: ref('DeadLetterPage'),
  requeued: ref('Requeued'),
  nodes: { type: 'array', items: ref('Node') },
  health: ref('Health'),
  stats: ref('Stats'),
  throughput: ref('Throughput'),
  historyPage: ref('HistoryPage'),
  historyStats: ref('HistoryStats'),
  schedule: ref('Schedule'),
  schedules: { type: 'array', items: ref('Schedule') },
  scheduleDeleted: ref('ScheduleDeleted'),
  scheduleRun: ref('ScheduleRun'),
  nothing: NOTHING,
};
