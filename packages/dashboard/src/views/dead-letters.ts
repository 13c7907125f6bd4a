/** Malformed ingress entries that could not become tasks, with the reason, newest first. */
import { h, show, table } from '../dom.js';
import { loadDeadLetters, PAGE_SIZE } from '../lists.js';

export class DeadLettersView {
  private query = '';
  private offset = 0;
  private readonly list = h('div', { class: 'scroll' });
  private readonly pager = h('div', { class: 'pager' });
  private readonly title = h('h2', {}, 'Dead letters');

  constructor(private readonly refresh: () => void) {}

  mount(container: HTMLElement): void {
    const search = h('input', { type: 'search', placeholder: 'Search entries and reasons', 'aria-label': 'search' });
    search.addEventListener('input', () => {
      this.query = search.value;
      this.offset = 0;
      this.refresh();
    });
    show(
      container,
      h(
        'section',
        { class: 'card' },
        this.title,
        h(
          'p',
          { class: 'muted' },
          'Entries of task:prepare:queue that could not be parsed into a task. They are kept for inspection (up to 10,000).',
        ),
        h('div', { class: 'toolbar' }, search),
        this.list,
        this.pager,
      ),
    );
  }

  async update(): Promise<void> {
    const page = await loadDeadLetters(this.query, this.offset);
    show(this.title, `Dead letters (${page.count})`);
    show(
      this.list,
      page.items.length === 0
        ? h('p', { class: 'muted empty' }, this.query ? 'Nothing matches.' : 'No dead letter.')
        : table(
            { class: 'tasks' },
            ['Reason', 'Entry', ['When', { class: 'wide' }]],
            page.items.map((item) => {
              const { reason, payload, at, ...rest } = item;
              const when = typeof at === 'number' ? new Date(at).toLocaleString() : '—';
              const body = payload ?? rest;
              return h(
                'tr',
                {},
                h('td', {}, String(reason ?? '—')),
                h('td', { class: 'command mono' }, typeof body === 'string' ? body : JSON.stringify(body)),
                h('td', { class: 'wide' }, when),
              );
            }),
          ),
    );
    show(
      this.pager,
      h('button', { disabled: this.offset === 0, onclick: () => this.turn(-PAGE_SIZE) }, '‹ Prev'),
      h('button', { disabled: !page.more, onclick: () => this.turn(PAGE_SIZE) }, 'Next ›'),
    );
  }

  private turn(delta: number): void {
    this.offset = Math.max(0, this.offset + delta);
    this.refresh();
  }
}
