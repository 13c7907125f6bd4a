/**
 * The dashboard's entry: hash routes (#/, #/channels/NAME[/TAB], #/tasks/ID, #/dead-letters, #/schedules, #/history),
 * the token prompt, and the refresh loop that polls the API every `intervalMs`.
 */
import { ApiError, onUnauthorized, token } from './api.js';
import { onChange } from './actions.js';
import { form } from './dialogs.js';
import { byId, h, show } from './dom.js';
import { loadSnapshot } from './model.js';
import { TABS } from './lists.js';
import type { Tab } from './lists.js';
import { intervalMs, readOnly, state, trackRunning } from './state.js';
import { ChannelView } from './views/channel.js';
import { DeadLettersView } from './views/dead-letters.js';
import { renderOverview } from './views/overview.js';
import { SchedulesView } from './views/schedules.js';
import { TaskHistoryView } from './views/task-history.js';
import { TaskView } from './views/task.js';

type View =
  | { kind: 'overview' }
  | { kind: 'channel'; view: ChannelView }
  | { kind: 'task'; view: TaskView }
  | { kind: 'dead-letters'; view: DeadLettersView }
  | { kind: 'schedules'; view: SchedulesView }
  | { kind: 'history'; view: TaskHistoryView };

const main = byId('view');
const live = byId('live');
let current: View = { kind: 'overview' };
let timer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<void> | null = null;
let again = false;
let askingToken = false;

function route(): View {
  const [, kind, name, tab] = location.hash.split('/').map((part) => decodeURIComponent(part));
  if (kind === 'channels' && name)
    return { kind: 'channel', view: new ChannelView(name, TABS.includes(tab as Tab) ? (tab as Tab) : 'running', () => void refresh()) };
  if (kind === 'tasks' && name) return { kind: 'task', view: new TaskView(name) };
  if (kind === 'dead-letters') return { kind: 'dead-letters', view: new DeadLettersView(() => void refresh()) };
  if (kind === 'schedules') return { kind: 'schedules', view: new SchedulesView(() => void refresh()) };
  if (kind === 'history') return { kind: 'history', view: new TaskHistoryView(() => void refresh()) };
  return { kind: 'overview' };
}

function navigate(): void {
  if (current.kind === 'task') current.view.unmount();
  current = route();
  main.replaceChildren();
  if (current.kind !== 'overview') current.view.mount(main);
  for (const link of document.querySelectorAll<HTMLAnchorElement>('header nav a')) {
    const href = current.kind === 'dead-letters' || current.kind === 'schedules' || current.kind === 'history' ? `#/${current.kind}` : '#/';
    link.classList.toggle('current', link.getAttribute('href') === href);
  }
  void refresh();
}

async function draw(): Promise<void> {
  const snapshot = await loadSnapshot();
  state.snapshot = snapshot;
  state.throughput.record(snapshot.at, snapshot.totals);
  trackRunning(
    snapshot.channels.flatMap((channel) => channel.process?.running.map((command) => command.taskId) ?? []),
    snapshot.at,
  );
  const view = current;
  if (view.kind === 'overview') renderOverview(main, snapshot);
  else if (view.kind === 'channel') await view.view.update(snapshot);
  else await view.view.update();
  live.className = 'live ok';
  live.textContent = `live · ${new Date(snapshot.at).toLocaleTimeString()}`;
}

/** Draws now; a refresh asked for while one runs is done once right after it. */
async function refresh(): Promise<void> {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  clearTimeout(timer);
  refreshing = draw()
    .catch((error: unknown) => {
      live.className = 'live bad';
      live.textContent =
        error instanceof ApiError && error.status === 401
          ? 'sign-in needed'
          : `offline · ${error instanceof Error ? error.message : String(error)}`;
    })
    .finally(() => {
      refreshing = null;
      if (again) {
        again = false;
        void refresh();
      } else timer = setTimeout(() => void refresh(), intervalMs);
    });
  return refreshing;
}

async function askToken(): Promise<void> {
  if (askingToken) return;
  askingToken = true;
  const hadOne = token.get() !== null;
  token.clear();
  const values = await form(
    'Sign in',
    [{ name: 'token', label: 'API token', type: 'password', required: true }],
    'Sign in',
    h(
      'p',
      {},
      hadOne ? 'That token was refused.' : 'This server requires the token given to coyotes with -http-token. It is kept in this tab only.',
    ),
  );
  askingToken = false;
  if (values?.token) {
    token.set(values.token);
    byId('logout').hidden = false;
    void refresh();
  }
}

onUnauthorized(() => void askToken());
onChange(() => void refresh());
byId('logout').hidden = token.get() === null;
byId('logout').addEventListener('click', () => {
  token.clear();
  location.reload();
});
if (readOnly) show(byId('mode'), h('span', { class: 'badge', title: 'opened with ?readonly' }, 'read-only'));
window.addEventListener('hashchange', navigate);
navigate();
