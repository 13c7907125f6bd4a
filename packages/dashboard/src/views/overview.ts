/** The overview: throughput, nodes, and every channel with its counts, slots and actions. */
import * as actions from '../actions.js';
import { throughputChart } from '../chart.js';
import { h, show } from '../dom.js';
import { serverRates } from '../history.js';
import { ago, bytes, count, percent } from '../format.js';
import type { ChannelRow, Snapshot } from '../model.js';
import { readOnly, state } from '../state.js';

const link = (name: string) => `#/channels/${encodeURIComponent(name)}`;

function slots(channel: ChannelRow) {
  return h('span', { class: 'slots', 'data-testid': 'slots' }, `${channel.running} / ${channel.workers ?? '?'}`);
}

function pausedBadge(channel: ChannelRow) {
  if (channel.paused === true) return h('span', { class: 'badge warn', 'data-testid': 'paused' }, 'paused');
  if (channel.paused === false) return h('span', { class: 'badge ok wide' }, 'active');
  return null;
}

function channelActions(channel: ChannelRow) {
  if (readOnly) return null;
  return h(
    'div',
    { class: 'actions' },
    h('button', { onclick: () => void actions.resizeChannel(channel.name, channel.workers), 'data-testid': 'resize' }, 'Resize'),
    channel.paused !== true
      ? h('button', { onclick: () => void actions.setPaused(channel.name, true), 'data-testid': 'pause' }, 'Pause')
      : null,
    channel.paused !== false
      ? h('button', { onclick: () => void actions.setPaused(channel.name, false), 'data-testid': 'resume' }, 'Resume')
      : null,
    h('button', { class: 'danger', onclick: () => void actions.deleteChannel(channel.name), 'data-testid': 'delete-channel' }, 'Delete'),
  );
}

/** A channel's CPU or RSS on this host: its process plus every command it runs (their whole process groups). */
function withCommands(channel: ChannelRow, figure: 'cpu' | 'rss'): number | null {
  const process = channel.process;
  if (!process || process[figure] === null) return null;
  return process.running.reduce((sum, command) => sum + (command[figure] ?? 0), process[figure]);
}

function channelsTable(snapshot: Snapshot) {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'channels' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Channel'),
          h('th', { title: 'running / workers per host' }, 'Slots'),
          h('th', { class: 'num' }, 'Queued'),
          h('th', { class: 'num wide' }, 'Running'),
          h('th', { class: 'num' }, 'Delayed'),
          h('th', { class: 'num' }, 'Failed'),
          h('th', { class: 'num wide', title: 'the channel process on this host and the commands it runs' }, 'CPU'),
          h('th', { class: 'num wide', title: 'the channel process on this host and the commands it runs' }, 'RSS'),
          readOnly ? null : h('th', { class: 'wide' }, ''),
        ),
      ),
      h(
        'tbody',
        {},
        snapshot.channels.map((channel) => [
          h(
            'tr',
            { 'data-channel': channel.name },
            h(
              'td',
              {},
              h('a', { href: link(channel.name) }, channel.name),
              ' ',
              pausedBadge(channel),
              channel.distinct ? h('span', { class: 'badge' }, 'distinct') : null,
            ),
            h('td', {}, slots(channel)),
            h('td', { class: 'num', 'data-testid': 'queued' }, count(channel.queued)),
            h('td', { class: 'num wide', 'data-testid': 'running' }, count(channel.running)),
            h('td', { class: 'num', 'data-testid': 'delayed' }, count(channel.delayed, channel.capped.delayed)),
            h('td', { class: `num${channel.failed ? ' bad' : ''}`, 'data-testid': 'failed' }, count(channel.failed, channel.capped.failed)),
            h('td', { class: 'num wide', 'data-testid': 'cpu' }, percent(withCommands(channel, 'cpu'))),
            h('td', { class: 'num wide', 'data-testid': 'rss' }, bytes(withCommands(channel, 'rss'))),
            readOnly ? null : h('td', { class: 'wide' }, channelActions(channel)),
          ),
          // on a phone the actions take a line of their own under the row, so none is cut off
          readOnly ? null : h('tr', { class: 'narrow row-actions' }, h('td', { colspan: 9 }, channelActions(channel))),
        ]),
      ),
    ),
  );
}

function nodesTable(snapshot: Snapshot) {
  if (snapshot.nodes.length === 0) return h('p', { class: 'muted' }, 'No node has sent a heartbeat in the last 5 s.');
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Host'),
          h('th', { class: 'wide' }, 'Node'),
          h('th', {}, 'Up'),
          h('th', { class: 'wide' }, 'Version'),
          h('th', {}, 'Mode'),
          h('th', {}, 'Heartbeat'),
        ),
      ),
      h(
        'tbody',
        {},
        snapshot.nodes.map((node) =>
          h(
            'tr',
            {},
            h('td', {}, node.hostname, h('small', { class: 'muted' }, ` pid ${node.pid}`)),
            h('td', { class: 'wide mono' }, node.nodeId),
            h('td', {}, ago(node.startedAt, snapshot.at).replace(' ago', '')),
            h('td', { class: 'wide' }, node.version),
            h('td', {}, node.taskMode ? 'runs tasks' : 'API only'),
            h('td', {}, ago(node.lastSeen, snapshot.at)),
          ),
        ),
      ),
    ),
  );
}

function throughputCard(snapshot: Snapshot) {
  // the server's per-minute history when it keeps one; else what this page saw since it loaded
  const history = snapshot.history;
  const { perMinute, failureRate } = history ? serverRates(history, snapshot.at) : state.throughput.rates(snapshot.at);
  const scope = !history && snapshot.totals?.scope === 'host' ? 'this host' : 'all hosts';
  let chart: HTMLElement;
  if (history) chart = throughputChart(history, 'min');
  else if (snapshot.totals) chart = throughputChart(state.throughput.buckets(snapshot.at));
  else chart = h('p', { class: 'muted' }, 'This server reports no finished-task counters.');
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, 'Throughput ', h('small', { class: 'muted' }, `last 10 min · ${scope}`)),
    h(
      'div',
      { class: 'figures' },
      h('div', {}, h('strong', { 'data-testid': 'per-minute' }, String(perMinute)), h('span', {}, 'finished / min')),
      h(
        'div',
        {},
        h('strong', { class: failureRate ? 'bad' : '' }, failureRate === null ? '—' : percent(failureRate * 100)),
        h('span', {}, 'failed'),
      ),
      h('div', {}, h('strong', {}, String(snapshot.channels.reduce((sum, c) => sum + c.running, 0))), h('span', {}, 'running')),
      h('div', {}, h('strong', {}, String(snapshot.channels.reduce((sum, c) => sum + (c.queued ?? 0), 0))), h('span', {}, 'queued')),
    ),
    chart,
  );
}

export function renderOverview(container: HTMLElement, snapshot: Snapshot): void {
  show(
    container,
    throughputCard(snapshot),
    h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'card-head' },
        h('h2', {}, 'Channels'),
        readOnly
          ? null
          : h(
              'div',
              { class: 'actions' },
              h('button', { class: 'primary', onclick: () => void pushFromOverview(snapshot), 'data-testid': 'push' }, 'Push task'),
              h('button', { onclick: () => void actions.createChannel(), 'data-testid': 'new-channel' }, 'New channel'),
            ),
      ),
      channelsTable(snapshot),
    ),
    h('section', { class: 'card' }, h('h2', {}, `Nodes (${snapshot.nodes.length})`), nodesTable(snapshot)),
  );
}

async function pushFromOverview(snapshot: Snapshot): Promise<void> {
  const id = await actions.pushTask(snapshot.channels.map((channel) => channel.name));
  if (id) location.hash = `#/tasks/${encodeURIComponent(id)}`;
}
