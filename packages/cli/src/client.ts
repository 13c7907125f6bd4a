import type { IncomingMessage } from 'node:http';
import { CoyotesError } from '@coyotes/protocol';
import type { NodeInfo as NodeHeartbeat, TaskResultView } from '@coyotes/protocol';
import { readServerSentEvents } from './sse.js';

/** Where the API is and how to prove who we are. */
export interface ClientOptions {
  /** `host:port` or a full `http(s)://` base URL. @defaultValue '127.0.0.1:60001' */
  addr?: string;
  /** Bearer token, when the server runs with `-http-token`. */
  token?: string;
}

/** The API answered with an error envelope (or not at all): `status` 0 means unreachable. */
export class ApiRequestError extends CoyotesError {
  constructor(
    readonly status: number,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(status === 0 ? 'COY_ERR_CLIENT_UNREACHABLE' : 'COY_ERR_CLIENT_REQUEST_FAILED', message, options);
  }
}

/** `GET /tasks/:id`. */
export interface TaskDetail {
  task_id: string;
  task_name: string;
  channel: string;
  command_line: string;
  status: 'delayed' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  retry_count: number;
  created_at: string;
  execute_at: string | null;
  failed_at: string | null;
  cancelled_at: string | null;
  running_since: string | null;
  timeout: number | null;
  result: TaskResultDetail | null;
}

/** A task as `GET /tasks` lists it: its detail without the output tails. */
export type TaskSummary = Omit<TaskDetail, 'result'> & { result: Omit<TaskResultDetail, 'stdout_tail' | 'stderr_tail'> | null };

/** A state `GET /tasks?state=` lists (`done` is the list of succeeded tasks). */
export type ListedState = 'queued' | 'running' | 'delayed' | 'failed' | 'done' | 'succeeded' | 'cancelled';

/** An entry `GET /dead-letters` lists: what could not become a task (or a callback given up), and why. */
export interface DeadLetter {
  id: string;
  reason: string;
  payload: string;
  at: number;
  nodeId: string;
}

/** A task's result as the API answers it (protocol's TaskResultView). */
export type TaskResultDetail = TaskResultView;

/** One row of `GET /stats`. */
export interface ChannelStats {
  name: string;
  workers: number;
  paused: boolean;
  distinct: boolean;
  /** The settings under their input names (`worker` is `workers`; `timeout` in seconds, 0: none). */
  max_retries: number;
  timeout: number;
  shell: boolean;
  global_workers: number;
  allowed_commands: string[];
  queued: number;
  running: number;
  delayed: number;
  failed: number;
  done: number;
  /** This host's channel process; CPU (%) and RSS (bytes) when master samples them. */
  process: { pid: number | null; alive: boolean; restarts: number; running: number; cpu?: number | null; rss?: number | null } | null;
}

/** A live node as `GET /nodes` lists it: its heartbeat, and when that was last heard (unix ms). */
export type NodeInfo = NodeHeartbeat & { lastSeen: number };

export interface PushRequest {
  channel: string;
  command: string;
  args: string[];
  /** Seconds before it may start. */
  delaySeconds?: number;
  /** Seconds before the command is killed. */
  timeoutSeconds?: number;
}

export interface ChannelSettings {
  workers?: number;
  distinct?: boolean;
  paused?: boolean;
  maxRetries?: number;
  timeoutSeconds?: number;
  shell?: boolean;
}

/** A line of a task's output, or its end. */
export type LogRecord = { stream: 'stdout' | 'stderr'; line: string } | { stream: 'done' };

/** Task states after which nothing more happens to a task. */
export const FINAL_STATES: ReadonlySet<TaskDetail['status']> = new Set(['succeeded', 'failed', 'cancelled']);

/** A typed client of the Coyotes HTTP API, for the CLI and for other Node programs. */
export class CoyotesClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;

  constructor(options: ClientOptions = {}) {
    const addr = options.addr ?? '127.0.0.1:60001';
    this.baseUrl = (/^https?:\/\//.test(addr) ? addr : `http://${addr}`).replace(/\/+$/, '');
    this.token = options.token;
  }

  /** Sends one request and returns the envelope's `data`; throws ApiRequestError otherwise. */
  async request<T>(method: string, route: string, body?: Record<string, unknown>): Promise<T> {
    const { status, text } = await this.send(method, route, body);
    let envelope: { status_code?: number; message?: string; data?: unknown };
    try {
      envelope = JSON.parse(text) as typeof envelope;
    } catch {
      throw new ApiRequestError(status, `${method} ${route}: HTTP ${status}, not a Coyotes answer`);
    }
    if (status < 200 || status > 299) throw new ApiRequestError(status, envelope.message ?? `HTTP ${status}`);
    return envelope.data as T;
  }

  /**
   * One request over node:http, not fetch: a client verb is one short process, and loading fetch's
   * HTTP stack (undici, its WebAssembly parser, web streams) costs more than the rest of the verb.
   * node:http (or node:https, which brings TLS and crypto) is loaded on the first request: a verb
   * that sends none, and `--version`, do not pay for it.
   */
  private async send(method: string, route: string, body?: Record<string, unknown>): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const payload = body && JSON.stringify(body);
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const url = new URL(this.baseUrl + route);
    const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    return new Promise((resolve, reject) => {
      const onResponse = (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      };
      const req = request(url, { method, headers }, onResponse);
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          new ApiRequestError(0, `cannot reach ${this.baseUrl}: ${error.code ?? error.message}`, {
            hint: 'is coyotes running? set --addr or COYOTES_ADDR',
            cause: error,
          }),
        ),
      );
      req.end(payload);
    });
  }

  /** Queues a command (exec'd directly, no shell); `accepted` is false when a distinct channel has it already. */
  async push(request: PushRequest): Promise<{ taskId: string; taskName: string; accepted: boolean }> {
    const data = await this.request<{ task_id: string; task_name: string; result: boolean }>(
      'POST',
      `/channels/${encodeURIComponent(request.channel)}/tasks`,
      {
        command: request.command,
        args: request.args,
        ...(request.delaySeconds ? { delay: request.delaySeconds } : {}),
        ...(request.timeoutSeconds ? { timeout: request.timeoutSeconds } : {}),
      },
    );
    return { taskId: data.task_id, taskName: data.task_name, accepted: data.result };
  }

  task(id: string): Promise<TaskDetail> {
    return this.request('GET', `/tasks/${encodeURIComponent(id)}`);
  }

  /** Polls until the task reaches a final state; no deadline (commands may run for hours). */
  async waitForTask(id: string, pollMs = 250): Promise<TaskDetail> {
    for (;;) {
      const task = await this.task(id);
      if (FINAL_STATES.has(task.status)) return task;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /**
   * The task's output as it is written (`GET /tasks/:id/logs`, Server-Sent Events), ending with
   * `done`. Answers null when the server has no such route, so callers fall back to polling.
   */
  async logStream(id: string, signal?: AbortSignal): Promise<AsyncIterable<LogRecord> | null> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/tasks/${encodeURIComponent(id)}/logs`, { headers, signal });
    } catch (error) {
      throw new ApiRequestError(0, `cannot reach ${this.baseUrl}: ${(error as Error).message}`, { cause: error });
    }
    if (response.status === 404 || !response.headers.get('content-type')?.includes('text/event-stream') || !response.body) {
      await response.body?.cancel();
      if (response.status === 401) throw new ApiRequestError(401, 'a valid bearer token is required (--token)');
      return null;
    }
    return logRecords(readServerSentEvents(response.body));
  }

  kill(id: string): Promise<unknown> {
    return this.request('POST', `/tasks/${encodeURIComponent(id)}/kill`);
  }

  /** Cancels a queued or delayed task, kills a running one. */
  async cancel(id: string, channel?: string): Promise<{ task_id: string; status: string }> {
    const name = channel ?? (await this.task(id)).channel;
    return this.request('DELETE', `/channels/${encodeURIComponent(name)}/tasks/${encodeURIComponent(id)}`);
  }

  /** Ids of a channel's failed tasks, every page. */
  async failedTaskIds(channel: string): Promise<string[]> {
    const ids: string[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await this.request<Record<string, unknown>>(
        'GET',
        `/channels/${encodeURIComponent(channel)}/failed-tasks?limit=1000&offset=${offset}`,
      );
      ids.push(...Object.keys(page));
      if (Object.keys(page).length < 1000) return ids;
    }
  }

  /** Moves a failed task back to its queue. */
  async retry(id: string, channel?: string): Promise<void> {
    const name = channel ?? (await this.task(id)).channel;
    await this.request('POST', `/channels/${encodeURIComponent(name)}/failed-tasks/${encodeURIComponent(id)}`);
  }

  stats(): Promise<{ node_id: string | null; channels: ChannelStats[] }> {
    return this.request('GET', '/stats');
  }

  createChannel(name: string, settings: ChannelSettings = {}): Promise<unknown> {
    return this.request('POST', '/channels', { name, ...channelFields(settings) });
  }

  updateChannel(name: string, settings: ChannelSettings): Promise<unknown> {
    return this.request('PATCH', `/channels/${encodeURIComponent(name)}`, channelFields(settings));
  }

  deleteChannel(name: string): Promise<unknown> {
    return this.request('DELETE', `/channels/${encodeURIComponent(name)}`);
  }

  nodes(): Promise<NodeInfo[]> {
    return this.request('GET', '/nodes');
  }

  /** One page of tasks, every channel or one, every state or one (`GET /tasks`); `count` is the total. */
  tasks(
    filter: { channel?: string; state?: ListedState; limit?: number; offset?: number } = {},
  ): Promise<{ count: number; items: TaskSummary[] }> {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(filter)) if (value !== undefined) query.set(name, String(value));
    const text = query.toString();
    return this.request('GET', `/tasks${text ? `?${text}` : ''}`);
  }

  /** Whether a channel is defined (`GET /channels/{name}` answers, not 404). */
  async channelExists(name: string): Promise<boolean> {
    try {
      await this.request('GET', `/channels/${encodeURIComponent(name)}?limit=1`);
      return true;
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 404) return false;
      throw error;
    }
  }

  deadLetters(page: { limit?: number; offset?: number } = {}): Promise<{ count: number; items: DeadLetter[] }> {
    return this.request('GET', `/dead-letters?limit=${page.limit ?? 100}&offset=${page.offset ?? 0}`);
  }

  /** Requeues a dead letter through the door it failed (or re-arms a given-up callback). */
  requeueDeadLetter(id: string): Promise<{ id: string; requeued: 'prepare-queue' | 'callback' }> {
    return this.request('POST', `/dead-letters/${encodeURIComponent(id)}`);
  }

  /** Removes a dead letter; answers it. */
  removeDeadLetter(id: string): Promise<DeadLetter> {
    return this.request('DELETE', `/dead-letters/${encodeURIComponent(id)}`);
  }
}

/** The API's field names for channel settings. */
function channelFields(settings: ChannelSettings): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (settings.workers !== undefined) fields.worker = settings.workers;
  if (settings.distinct !== undefined) fields.distinct = settings.distinct;
  if (settings.paused !== undefined) fields.paused = settings.paused;
  if (settings.maxRetries !== undefined) fields.max_retries = settings.maxRetries;
  if (settings.timeoutSeconds !== undefined) fields.timeout = settings.timeoutSeconds;
  if (settings.shell !== undefined) fields.shell = settings.shell;
  return fields;
}

/** task-job's log records (`msg_type` stdout/stderr/done), as SSE event names or JSON data. */
async function* logRecords(events: AsyncIterable<{ event: string; data: string }>): AsyncIterable<LogRecord> {
  for await (const { event, data } of events) {
    let type = event;
    let line = data;
    try {
      const record = JSON.parse(data) as { msg_type?: string; stream?: string; type?: string; data?: unknown; line?: unknown };
      if (typeof record === 'object' && record !== null) {
        type = record.msg_type ?? record.stream ?? (event === 'message' ? (record.type ?? event) : event);
        const text = record.data ?? record.line;
        line = typeof text === 'string' ? text : '';
      }
    } catch {
      // a plain-text data line: the event name says which stream
    }
    if (type === 'done') {
      yield { stream: 'done' };
      return;
    }
    if (type === 'stdout' || type === 'stderr') yield { stream: type, line };
  }
}
