/** One channel: its settings and process, and its running, queued, delayed and failed tasks. */
import * as actions from '../actions.js';
import { h, show } from '../dom.js';
import { ago, bytes, clip, clock, count, duration, percent } from '../format.js';
import { loadList, PAGE_SIZE, TABS } from '../lists.js';
import type { Tab, TaskRow } from '../lists.js';
import type { ChannelRow, Snapshot } from '../model.js';
import { readOnly, state } from '../state.js';

const taskLink = (id: string) => `#/tasks/${encodeURIComponent(id)}`;

export class ChannelView {
  private query = '';
  private offset = 0;
  private readonly head = h('div', { class: 'card' });
  private readonly list = h('div', { class: 'scroll' });
  private readonly pager = h('div', { class: 'pager' });
  private readonly search = h('input', {
    type: 'search',
    placeholder: 'Search command text or task id',
    'aria-label': 'search',
    'data-testid': 'search',
  });
  private generation = 0;

  constructor(
    readonly name: string,
    readonly tab: Tab,
    private readonly refresh: () => void,
  ) {
    this.search.addEventListener('input', () => {
      this.query = this.search.value;
      this.offset = 0;
      this.refresh();
    });
  }

  mount(container: HTMLElement): void {
    const tabs = h(
      'nav',
      { class: 'tabs' },
      TABS.map((tab) =>
        h(
          'a',
          {
            href: `#/channels/${encodeURIComponent(this.name)}/${tab}`,
            class: tab === this.tab ? 'current' : '',
            'data-testid': `tab-${tab}`,
          },
          tab,
        ),
      ),
    );
    show(container, this.head, h('section', { class: 'card' }, tabs, h('div', { class: 'toolbar' }, this.search), this.list, this.pager));
  }

  async update(snapshot: Snapshot): Promise<void> {
    const channel = snapshot.channels.find((c) => c.name === this.name);
    if (!channel) {
      show(
        this.head,
        h('h2', {}, this.name),
        h('p', { class: 'muted' }, 'No such channel (deleted?).'),
        h('a', { href: '#/' }, 'Back to the overview'),
      );
      show(this.list);
      return;
    }
    this.renderHead(channel);
    const generation = ++this.generation;
    const page = await loadList(this.tab, channel, this.query, this.offset);
    if (generation !== this.generation) return; // a newer refresh already drew
    this.renderList(page.rows, snapshot.at, page.searchCut);
    show(
      this.pager,
      h('button', { disabled: this.offset === 0, onclick: () => this.turn(-PAGE_SIZE) }, '‹ Prev'),
      h('span', {}, page.rows.length === 0 ? 'none' : `${this.offset + 1}–${this.offset + page.rows.length}`),
      h('button', { disabled: !page.more, onclick: () => this.turn(PAGE_SIZE) }, 'Next ›'),
    );
  }

  private turn(delta: number): void {
    this.offset = Math.max(0, this.offset + delta);
    this.refresh();
  }

  private renderHead(channel: ChannelRow): void {
    const process = channel.process;
    show(
      this.head,
      h(
        'div',
        { class: 'card-head' },
        h(
          'h2',
          {},
          channel.name,
          ' ',
          channel.paused === true ? h('span', { class: 'badge warn' }, 'paused') : null,
          channel.distinct ? h('span', { class: 'badge' }, 'distinct') : null,
        ),
        readOnly
          ? null
          : h(
              'div',
              { class: 'actions' },
              h('button', { class: 'primary', onclick: () => void this.push(channel.name) }, 'Push task'),
              h('button', { onclick: () => void actions.resizeChannel(channel.name, channel.workers), 'data-testid': 'resize' }, 'Resize'),
              channel.paused !== true ? h('button', { onclick: () => void actions.setPaused(channel.name, true) }, 'Pause') : null,
              channel.paused !== false ? h('button', { onclick: () => void actions.setPaused(channel.name, false) }, 'Resume') : null,
              h('button', { class: 'danger', onclick: () => void this.remove(channel.name) }, 'Delete'),
            ),
      ),
      h(
        'div',
        { class: 'figures' },
        h(
          'div',
          {},
          h('strong', { 'data-testid': 'slots' }, `${channel.running} / ${channel.workers ?? '?'}`),
          h('span', {}, 'slots busy'),
        ),
        h('div', {}, h('strong', {}, count(channel.queued)), h('span', {}, 'queued')),
        h('div', {}, h('strong', {}, count(channel.delayed, channel.capped.delayed)), h('span', {}, 'delayed')),
        h(
          'div',
          {},
          h('strong', { class: channel.failed ? 'bad' : '' }, count(channel.failed, channel.capped.failed)),
          h('span', {}, 'failed'),
        ),
      ),
      process
        ? h(
            'p',
            { class: 'muted process' },
            `Process on this host: pid ${process.pid ?? '—'} · ${process.alive ? 'alive' : 'restarting'} · restarts ${process.restarts} · CPU ${percent(process.cpu)} · RSS ${bytes(process.rss)}`,
          )
        : h('p', { class: 'muted process' }, 'No process for this channel on this host.'),
    );
  }

  private renderList(rows: TaskRow[], now: number, searchCut: boolean): void {
    const whenHeader = { running: 'Elapsed', queued: '', delayed: 'Due', failed: 'Failed' }[this.tab];
    const running = this.tab === 'running';
    if (rows.length === 0) {
      show(this.list, h('p', { class: 'muted empty' }, this.query ? 'Nothing matches.' : `No ${this.tab} task.`));
      return;
    }
    show(
      this.list,
      searchCut ? h('p', { class: 'muted' }, 'Searched the first 1,000 entries.') : null,
      h(
        'table',
        { class: 'tasks', 'data-testid': `list-${this.tab}` },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Command'),
            h('th', { class: 'wide' }, 'Id'),
            whenHeader ? h('th', {}, whenHeader) : null,
            this.tab === 'failed' ? h('th', { class: 'num', title: 'failed executions so far (retry_count)' }, 'Failed runs') : null,
            running ? [h('th', { class: 'num wide' }, 'PID'), h('th', { class: 'num' }, 'CPU'), h('th', { class: 'num' }, 'RSS')] : null,
            readOnly ? null : h('th', { class: 'wide' }, ''),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((task) => [
            h(
              'tr',
              { 'data-task': task.id ?? '' },
              h('td', { class: 'command' }, task.id ? h('a', { href: taskLink(task.id) }, clip(task.name)) : clip(task.name)),
              h(
                'td',
                { class: 'wide mono' },
                task.id ?? h('span', { class: 'muted', title: 'on another host; this API lists it by name only' }, '—'),
              ),
              whenHeader
                ? h(
                    'td',
                    {},
                    running
                      ? task.when === null
                        ? '—'
                        : task.whenIsFirstSeen
                          ? h('span', { title: 'at least: since this page first saw it running' }, `≥ ${duration(now - task.when)}`)
                          : duration(now - task.when)
                      : this.tab === 'delayed'
                        ? ago(task.when, now)
                        : clock(task.when),
                  )
                : null,
              this.tab === 'failed' ? h('td', { class: 'num' }, count(task.retries)) : null,
              running
                ? [
                    h('td', { class: 'num wide' }, task.pid ?? '—'),
                    h('td', { class: 'num' }, percent(task.cpu)),
                    h('td', { class: 'num' }, bytes(task.rss)),
                  ]
                : null,
              readOnly ? null : h('td', { class: 'wide' }, this.rowActions(task)),
            ),
            // on a phone the actions take a line of their own under the row, so none is cut off
            readOnly || !task.id
              ? null
              : h('tr', { class: 'narrow row-actions', 'data-task-actions': task.id }, h('td', { colspan: 9 }, this.rowActions(task))),
          ]),
        ),
      ),
    );
  }

  private rowActions(task: TaskRow) {
    const id = task.id;
    if (!id) return null;
    const buttons = {
      running: [h('button', { class: 'danger', onclick: () => void actions.killTask(id, task.name), 'data-testid': 'kill' }, 'Kill')],
      queued: [h('button', { class: 'danger', onclick: () => void actions.cancelTask(task.channel, id, task.name) }, 'Cancel')],
      delayed: [h('button', { class: 'danger', onclick: () => void actions.cancelTask(task.channel, id, task.name) }, 'Cancel')],
      failed: [
        h('button', { onclick: () => void actions.retryTask(task.channel, id), 'data-testid': 'retry' }, 'Retry'),
        h(
          'button',
          { class: 'danger', onclick: () => void actions.deleteFailed(task.channel, id, task.name), 'data-testid': 'delete-task' },
          'Delete',
        ),
      ],
    }[this.tab];
    return h('div', { class: 'actions' }, buttons);
  }

  private async push(channel: string): Promise<void> {
    const names = state.snapshot?.channels.map((c) => c.name) ?? [channel];
    const id = await actions.pushTask(names, channel);
    if (id) location.hash = taskLink(id);
  }

  private async remove(channel: string): Promise<void> {
    if (await actions.deleteChannel(channel)) location.hash = '#/';
  }
}
