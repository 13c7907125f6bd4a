/** Schedules: each one's cron, next fire time and last run, with pause, resume and run now. */
import { ApiError, call, get } from '../api.js';
import { notify } from '../dialogs.js';
import { h, show, table } from '../dom.js';
import { readOnly } from '../state.js';

/** A schedule as `GET /schedules` shows it (the fields shown here). */
interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  channel: string;
  task: string;
  overlap: string;
  catch_up: string;
  paused: boolean;
  next_runs: string[];
  last_run: { task_id: string; status: string; exit_code: number | null } | null;
}

export class SchedulesView {
  private readonly list = h('div', { class: 'scroll' });
  private readonly title = h('h2', {}, 'Schedules');

  constructor(private readonly refresh: () => void) {}

  mount(container: HTMLElement): void {
    show(
      container,
      h(
        'section',
        { class: 'card' },
        this.title,
        h('p', { class: 'muted' }, 'Cron-style schedules: each tick puts one task into its channel, once across every host.'),
        this.list,
      ),
    );
  }

  async update(): Promise<void> {
    const schedules = await get<Schedule[]>('/schedules');
    show(this.title, `Schedules (${schedules.length})`);
    show(
      this.list,
      schedules.length === 0
        ? h('p', { class: 'muted empty' }, 'No schedule. Add one with coyotes schedules add, POST /schedules or the config file.')
        : table(
            { class: 'tasks' },
            ['Name', 'Cron', 'Channel', 'Next', 'Last run', 'Command', ''],
            schedules.map((schedule) =>
              h(
                'tr',
                {},
                h('td', {}, schedule.name),
                h(
                  'td',
                  { class: 'mono', title: `overlap ${schedule.overlap}, catch_up ${schedule.catch_up}` },
                  `${schedule.cron} (${schedule.timezone})`,
                ),
                h('td', {}, h('a', { href: `#/channels/${encodeURIComponent(schedule.channel)}` }, schedule.channel)),
                h('td', {}, schedule.paused ? 'paused' : schedule.next_runs[0] ? new Date(schedule.next_runs[0]).toLocaleString() : '—'),
                h(
                  'td',
                  {},
                  schedule.last_run
                    ? h(
                        'a',
                        { href: `#/tasks/${encodeURIComponent(schedule.last_run.task_id)}` },
                        `${schedule.last_run.status}${schedule.last_run.exit_code === null ? '' : ` (${schedule.last_run.exit_code})`}`,
                      )
                    : '—',
                ),
                h('td', { class: 'command mono' }, schedule.task),
                h('td', {}, readOnly ? null : this.actions(schedule)),
              ),
            ),
          ),
    );
  }

  private actions(schedule: Schedule): HTMLElement[] {
    const route = `/schedules/${encodeURIComponent(schedule.name)}`;
    return [
      h(
        'button',
        {
          onclick: () =>
            void this.act(`${schedule.paused ? 'Resuming' : 'Pausing'} ${schedule.name}`, 'PATCH', route, { paused: !schedule.paused }),
        },
        schedule.paused ? 'Resume' : 'Pause',
      ),
      h('button', { onclick: () => void this.act(`Running ${schedule.name}`, 'POST', `${route}/run`) }, 'Run now'),
    ];
  }

  private async act(what: string, method: string, route: string, body?: unknown): Promise<void> {
    try {
      await call(method, route, body);
      notify(`${what}: done`);
    } catch (error) {
      notify(`${what} failed: ${error instanceof ApiError || error instanceof Error ? error.message : String(error)}`, 'error');
    }
    this.refresh();
  }
}
