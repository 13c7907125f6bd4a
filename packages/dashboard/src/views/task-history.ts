/**
 * The task history kept in SQL (`-history-url`): the latest runs matching the filters (channel,
 * status, command text), their durations over time in a chart, and the rows.
 */
import type { HistoryRunView as Run, RunStatus } from '@coyotes/protocol';
import { ApiError, get } from '../api.js';
import { h, show, table } from '../dom.js';
import { durationChart } from '../duration-chart.js';
import { clip, clock, duration, parseTime } from '../format.js';

/** Runs fetched for the list and the chart: the newest that match. */
const LATEST = 200;

/** Each status of `GET /history?status=` and its badge (the compiler holds it to protocol's RunStatus). */
const BADGE: Record<RunStatus, string> = { succeeded: 'ok', failed: 'bad', killed: 'warn', 'timed out': 'bad', cancelled: 'warn' };
const STATUSES = Object.keys(BADGE) as RunStatus[];

export class TaskHistoryView {
  private readonly channel = h('input', {
    type: 'search',
    placeholder: 'channel',
    'aria-label': 'channel',
    'data-testid': 'history-channel',
  });
  private readonly status = h(
    'select',
    { 'aria-label': 'status', 'data-testid': 'history-status' },
    h('option', { value: '' }, 'any status'),
    STATUSES.map((status) => h('option', { value: status }, status)),
  );
  private readonly command = h('input', {
    type: 'search',
    placeholder: 'command text',
    'aria-label': 'command text',
    'data-testid': 'history-command',
  });
  private readonly title = h('h2', {}, 'History');
  private readonly chart = h('div', {});
  private readonly list = h('div', { class: 'scroll' });
  /** Answers to an older query arriving late are dropped. */
  private generation = 0;

  constructor(private readonly refresh: () => void) {
    for (const input of [this.channel, this.command]) input.addEventListener('input', () => this.refresh());
    this.status.addEventListener('change', () => this.refresh());
  }

  mount(container: HTMLElement): void {
    show(
      container,
      h(
        'section',
        { class: 'card' },
        this.title,
        h('p', { class: 'muted' }, 'Every run kept in the SQL history (-history-url), newest first.'),
        h('div', { class: 'toolbar filters' }, this.channel, this.status, this.command),
        this.chart,
        this.list,
      ),
    );
  }

  private query(): string {
    const query = new URLSearchParams({ limit: String(LATEST) });
    const channel = this.channel.value.trim();
    const command = this.command.value.trim();
    if (channel) query.set('channel', channel);
    if (this.status.value) query.set('status', this.status.value);
    if (command) query.set('command', command);
    return query.toString();
  }

  async update(): Promise<void> {
    const generation = ++this.generation;
    let runs: Run[];
    try {
      runs = (await get<{ items: Run[] }>(`/history?${this.query()}`)).items;
    } catch (error) {
      // 404: the history is off on this server (or it predates it); 400: a filter it refuses
      if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 400)) throw error;
      if (generation !== this.generation) return;
      show(this.title, 'History');
      this.chart.replaceChildren();
      show(this.list, h('p', { class: 'muted empty', 'data-testid': 'history-off' }, error.message));
      return;
    }
    if (generation !== this.generation) return;
    show(this.title, runs.length === LATEST ? `History (latest ${LATEST})` : `History (${runs.length})`);
    const charted = runs.map((run) => ({
      taskId: run.task_id,
      command: run.command,
      status: run.status,
      finishedAt: parseTime(run.finished_at) ?? 0,
      durationMs: run.duration_ms,
    }));
    show(this.chart, runs.length === 0 ? null : durationChart(charted));
    show(
      this.list,
      runs.length === 0
        ? h('p', { class: 'muted empty' }, 'No run matches.')
        : table(
            { class: 'tasks', 'data-testid': 'history-rows' },
            ['Finished', 'Channel', 'Status', 'Duration', 'Exit', 'Command', 'Task'],
            runs.map((run) =>
              h(
                'tr',
                { 'data-task': run.task_id },
                h('td', {}, clock(parseTime(run.finished_at))),
                h('td', {}, h('a', { href: `#/channels/${encodeURIComponent(run.channel)}` }, run.channel)),
                h('td', {}, h('span', { class: `badge ${BADGE[run.status] ?? ''}`, 'data-testid': 'run-status' }, run.status)),
                h('td', { 'data-testid': 'run-duration' }, duration(run.duration_ms)),
                h('td', {}, run.exit_code ?? run.signal ?? '—'),
                h('td', { class: 'command mono', title: run.command }, clip(run.command)),
                h(
                  'td',
                  { class: 'mono' },
                  h('a', { href: `#/tasks/${encodeURIComponent(run.task_id)}` }, run.task_id),
                  run.attempt > 1 ? ` #${run.attempt}` : null,
                ),
              ),
            ),
          ),
    );
  }
}
