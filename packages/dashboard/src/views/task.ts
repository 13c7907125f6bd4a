/** One task: what it runs, where and when it ran, how it ended, its output, and its live log. */
import type { TaskResultView } from '@coyotes/protocol';
import * as actions from '../actions.js';
import { ApiError, follow, get } from '../api.js';
import { h, show } from '../dom.js';
import { clock, duration, parseTime, shellQuote } from '../format.js';
import { readOnly, state } from '../state.js';

interface TaskDetail {
  task_id: string;
  task_name: string;
  channel: string;
  command_line: string;
  command: { name: string; args: string[] | null };
  status: string;
  retry_count: number;
  created_at: string;
  execute_at: string | null;
  failed_at: string | null;
  cancelled_at?: string | null;
  started_at?: string | null;
  /** When the current execution started (the API's name; `started_at` was never sent). */
  running_since?: string | null;
  timeout: number | null;
  env: string[];
  cwd?: string | null;
  result: TaskResultView | null;
}

/** Lines the live log keeps; older ones scroll away. */
const LOG_LINES = 2000;

const row = (label: string, value: unknown, testid?: string) =>
  h(
    'tr',
    {},
    h('th', {}, label),
    h('td', { 'data-testid': testid }, value === null || value === undefined || value === '' ? '—' : (value as string)),
  );

export class TaskView {
  private readonly body = h('div', { class: 'stack' });
  private readonly log = h('pre', { class: 'log', 'data-testid': 'live-log', hidden: true });
  private readonly logNote = h('p', { class: 'muted' });
  private following: AbortController | null = null;
  /** The server has no log route: stop asking. */
  private noLogRoute = false;
  private lines = 0;

  constructor(readonly id: string) {}

  mount(container: HTMLElement): void {
    show(
      container,
      this.body,
      h('section', { class: 'card', hidden: true, id: 'log-card' }, h('h2', {}, 'Live log'), this.logNote, this.log),
    );
  }

  unmount(): void {
    this.following?.abort();
  }

  async update(): Promise<void> {
    let task: TaskDetail;
    try {
      task = await get<TaskDetail>(`/tasks/${encodeURIComponent(this.id)}`);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
      show(
        this.body,
        h(
          'section',
          { class: 'card' },
          h('h2', {}, 'Task ', h('span', { class: 'mono' }, this.id)),
          h('p', { 'data-testid': 'task-status' }, 'Not found: never existed, or removed by retention.'),
        ),
      );
      return;
    }
    this.render(task);
    if (task.status === 'running' && !this.following && !this.noLogRoute) this.startFollowing();
  }

  private render(task: TaskDetail): void {
    const result = task.result;
    const reported = parseTime(task.running_since ?? task.started_at);
    const started = reported ?? state.firstSeenRunning.get(task.task_id) ?? null;
    const args = task.command.args ?? [];
    show(
      this.body,
      h(
        'section',
        { class: 'card' },
        h(
          'div',
          { class: 'card-head' },
          h(
            'h2',
            {},
            'Task ',
            h('span', { class: 'mono' }, task.task_id),
            ' ',
            h('span', { class: `badge state-${task.status}`, 'data-testid': 'task-status' }, task.status),
          ),
          readOnly ? null : h('div', { class: 'actions' }, this.actions(task)),
        ),
        h(
          'pre',
          { class: 'command-line', 'data-testid': 'command-line' },
          // an exec-form task's argv, quoted as it would be typed; a bare line as it was pushed
          task.command.args === null ? task.command_line : shellQuote([task.command.name, ...args]),
        ),
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'detail' },
            h(
              'tbody',
              {},
              row('Channel', h('a', { href: `#/channels/${encodeURIComponent(task.channel)}` }, task.channel)),
              // a bare command line is shown whole above; the exec form also shows program and argv
              task.command.args === null ? null : row('Program', h('span', { class: 'mono' }, task.command.name)),
              args.length
                ? row(
                    'Arguments',
                    h(
                      'ol',
                      { class: 'args' },
                      args.map((arg) => h('li', { class: 'mono' }, arg)),
                    ),
                  )
                : null,
              row(
                'Environment',
                task.env.length
                  ? h(
                      'ul',
                      { class: 'env' },
                      task.env.map((key) =>
                        h('li', { class: 'mono' }, `${key}=`, h('span', { class: 'muted', title: 'values are never shown' }, '••••••')),
                      ),
                    )
                  : null,
              ),
              task.cwd ? row('Working directory', task.cwd) : null,
              row('Timeout', task.timeout ? `${task.timeout} s` : 'channel default'),
              row('Created', clock(parseTime(task.created_at))),
              task.execute_at ? row('Due', clock(parseTime(task.execute_at))) : null,
              task.status === 'running'
                ? row(
                    'Running for',
                    started === null ? '—' : `${reported === null ? '≥ ' : ''}${duration(Date.now() - started)}`,
                    'elapsed',
                  )
                : null,
              row('Failed executions', String(task.retry_count)),
              task.failed_at ? row('Failed at', clock(parseTime(task.failed_at))) : null,
              task.cancelled_at ? row('Cancelled at', clock(parseTime(task.cancelled_at)), 'cancelled-at') : null,
            ),
          ),
        ),
      ),
      result ? this.resultCard(result, task.status === 'running') : null,
    );
  }

  private resultCard(result: NonNullable<TaskDetail['result']>, previous: boolean) {
    const ok = result.outcome === 'exited' && result.exit_code === 0;
    return h(
      'section',
      { class: 'card' },
      h(
        'h2',
        {},
        previous ? 'Previous execution' : 'Last execution',
        ' ',
        h('span', { class: `badge ${ok ? 'ok' : 'bad'}`, 'data-testid': 'outcome' }, result.outcome),
      ),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { class: 'detail' },
          h(
            'tbody',
            {},
            row('Exit code', result.exit_code === null ? null : String(result.exit_code), 'exit-code'),
            row('Signal', result.signal, 'signal'),
            row('Started', clock(parseTime(result.started_at))),
            row('Finished', clock(parseTime(result.finished_at))),
            row('Duration', duration(result.duration_ms)),
            row('Host', `${result.host} (node ${result.node_id}${result.pid ? `, pid ${result.pid}` : ''})`),
            result.error ? row('Error', result.error) : null,
          ),
        ),
      ),
      h('h3', {}, 'stdout (tail)'),
      h('pre', { class: 'log', 'data-testid': 'stdout' }, result.stdout_tail || '(empty)'),
      h('h3', {}, 'stderr (tail)'),
      h('pre', { class: 'log', 'data-testid': 'stderr' }, result.stderr_tail || '(empty)'),
    );
  }

  private actions(task: TaskDetail) {
    const { task_id: id, channel, task_name: name } = task;
    switch (task.status) {
      case 'running':
        return h('button', { class: 'danger', onclick: () => void actions.killTask(id, name), 'data-testid': 'kill' }, 'Kill');
      case 'queued':
      case 'delayed':
        return h(
          'button',
          { class: 'danger', onclick: () => void actions.cancelTask(channel, id, name), 'data-testid': 'cancel' },
          'Cancel',
        );
      case 'failed':
        return [
          h('button', { onclick: () => void actions.retryTask(channel, id), 'data-testid': 'retry' }, 'Retry'),
          h(
            'button',
            { class: 'danger', onclick: () => void actions.deleteFailed(channel, id, name), 'data-testid': 'delete-task' },
            'Delete',
          ),
        ];
      default:
        return null;
    }
  }

  /** Follows `GET /tasks/:id/logs` (stdout, stderr, done records) while the task runs. */
  private startFollowing(): void {
    const controller = new AbortController();
    this.following = controller;
    document.getElementById('log-card')?.removeAttribute('hidden');
    this.logNote.textContent = 'Following stdout and stderr as the command prints them.';
    follow(`/tasks/${encodeURIComponent(this.id)}/logs`, (event) => this.append(event.event, event.data), controller.signal)
      .then((available) => {
        this.noLogRoute = !available;
        this.logNote.textContent = available
          ? 'The command has finished.'
          : 'This server does not stream logs (GET /tasks/:id/logs); output tails appear when the command ends.';
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted)
          this.logNote.textContent = `Log stream ended: ${error instanceof Error ? error.message : String(error)}`;
      })
      .finally(() => {
        if (this.following === controller) this.following = null;
      });
  }

  /** A record as task-job wrote them: the SSE event names the stream, or JSON data carries `msg_type`/`stream`. */
  private append(event: string, data: string): void {
    let stream = event;
    let text = data;
    try {
      const record = JSON.parse(data) as Record<string, unknown>;
      if (typeof record === 'object' && record !== null) {
        stream = String(record.msg_type ?? record.stream ?? (event === 'message' ? (record.type ?? event) : event));
        const line = record.data ?? record.line ?? record.text;
        text = typeof line === 'string' ? line : '';
        if (stream === 'done') {
          const code = record.exit_code ?? record.exitCode;
          text = [typeof record.outcome === 'string' ? record.outcome : '', typeof code === 'number' ? `exit code ${code}` : '']
            .filter(Boolean)
            .join(', ');
        }
      }
    } catch {
      // a plain-text data line: the event name says which stream
    }
    this.log.hidden = false;
    if (this.lines >= LOG_LINES) this.log.firstChild?.remove();
    else this.lines += 1;
    this.log.appendChild(
      h('span', { class: `line ${stream}` }, stream === 'done' ? `— finished${text ? ` (${text})` : ''}\n` : `${text}\n`),
    );
    this.log.scrollTop = this.log.scrollHeight;
  }
}
