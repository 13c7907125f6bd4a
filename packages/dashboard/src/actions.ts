/**
 * Everything the dashboard can change, each through one API route. Destructive actions ask
 * first; every outcome is reported in a notice, and the page refreshes after a change.
 */
import { ApiError, call } from './api.js';
import { confirmAction, form, notify } from './dialogs.js';
import { h } from './dom.js';
import { clip } from './format.js';

let changed: () => void = () => undefined;

/** What to run after any change (a refresh). */
export function onChange(handler: () => void): void {
  changed = handler;
}

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');

async function attempt<T>(what: string, run: () => Promise<T>): Promise<T | null> {
  try {
    const result = await run();
    changed();
    return result;
  } catch (error) {
    notify(`${what} failed: ${error instanceof ApiError || error instanceof Error ? error.message : String(error)}`, 'error');
    return null;
  }
}

export async function createChannel(): Promise<void> {
  const values = await form(
    'New channel',
    [
      { name: 'name', label: 'Name', required: true, placeholder: 'reports', hint: '1–64 characters of A–Z a–z 0–9 _ . : -' },
      { name: 'worker', label: 'Workers (slots per host)', type: 'number', value: '5', min: 1, required: true },
      { name: 'distinct', label: 'Distinct: refuse a command line already queued or running', type: 'checkbox' },
    ],
    'Create',
  );
  if (!values) return;
  const done = await attempt('Creating the channel', () =>
    call('POST', '/channels', { name: values.name, worker: Number(values.worker), distinct: values.distinct === 'true' }),
  );
  if (done !== null) notify(`Channel ${values.name} created`);
}

export async function resizeChannel(name: string, workers: number | null): Promise<void> {
  const values = await form(
    `Resize ${name}`,
    [{ name: 'worker', label: 'Workers (slots per host)', type: 'number', value: String(workers ?? 1), min: 1, required: true }],
    'Resize',
    h('p', {}, 'Running commands are not interrupted.'),
  );
  if (!values) return;
  const done = await attempt('Resizing', () => call('PATCH', `/channels/${path(name)}`, { worker: Number(values.worker) }));
  if (done !== null) notify(`${name} now has ${values.worker} workers per host`);
}

export async function setPaused(name: string, paused: boolean): Promise<void> {
  if (paused && !(await confirmAction(`Pause ${name}?`, 'It takes no new task; running commands finish.', 'Pause'))) return;
  const done = await attempt(paused ? 'Pausing' : 'Resuming', () => call('PATCH', `/channels/${path(name)}`, { paused }));
  if (done !== null) notify(`${name} ${paused ? 'paused' : 'resumed'}`);
}

export async function deleteChannel(name: string): Promise<boolean> {
  const sure = await confirmAction(
    `Delete channel ${name}?`,
    'Its processes drain on every host. Queued tasks stay in Redis and run again if the channel is created again.',
    'Delete channel',
  );
  if (!sure) return false;
  const done = await attempt('Deleting the channel', () => call('DELETE', `/channels/${path(name)}`));
  if (done !== null) notify(`Channel ${name} deleted`);
  return done !== null;
}

/** Pushes a task; resolves its id when accepted. */
export async function pushTask(channels: string[], preferred?: string): Promise<string | null> {
  const values = await form(
    'Push a task',
    [
      { name: 'channel', label: 'Channel', type: 'select', options: channels, value: preferred ?? channels[0] },
      {
        name: 'task',
        label: 'Command line',
        required: true,
        placeholder: 'php artisan report:daily --force',
        hint: 'Split like a shell would, without expansion (unless the channel runs a shell).',
      },
      { name: 'delay', label: 'Delay (s)', type: 'number', min: 0, value: '0' },
      { name: 'timeout', label: 'Timeout (s, 0: channel default)', type: 'number', min: 0, value: '0' },
      { name: 'max_retries', label: 'Retries after a failure (empty: channel default)', type: 'number', min: 0 },
    ],
    'Push',
  );
  if (!values) return null;
  const body: Record<string, unknown> = { task: values.task };
  for (const key of ['delay', 'timeout', 'max_retries'] as const) if (values[key] && values[key] !== '0') body[key] = Number(values[key]);
  const result = await attempt('Pushing', () =>
    call<{ task_id: string; result: boolean }>('POST', `/channels/${path(values.channel!)}/tasks`, body),
  );
  if (!result) return null;
  if (!result.result) {
    notify('Not queued: the same command line is already queued or running in this distinct channel', 'error');
    return null;
  }
  notify(`Task ${result.task_id} pushed to ${values.channel}`);
  return result.task_id;
}

export async function killTask(id: string, name: string): Promise<void> {
  if (!(await confirmAction('Kill this task?', `SIGTERM, then SIGKILL, to the process group of: ${clip(name)}`, 'Kill'))) return;
  const done = await attempt('Killing', () => call('POST', `/tasks/${path(id)}/kill`));
  if (done !== null) notify(`Killing ${id}`);
}

export async function cancelTask(channel: string, id: string, name: string): Promise<void> {
  if (!(await confirmAction('Cancel this task?', `It will not run: ${clip(name)}`, 'Cancel task'))) return;
  const done = await attempt('Cancelling', () => call('DELETE', `/channels/${path(channel)}/tasks/${path(id)}`));
  if (done !== null) notify(`Task ${id} cancelled`);
}

export async function retryTask(channel: string, id: string): Promise<void> {
  const done = await attempt('Retrying', () => call('POST', `/channels/${path(channel)}/failed-tasks/${path(id)}`));
  if (done !== null) notify(`Task ${id} queued again`);
}

export async function deleteFailed(channel: string, id: string, name: string): Promise<void> {
  if (!(await confirmAction('Delete this failed task?', `Its record and result are removed: ${clip(name)}`, 'Delete'))) return;
  const done = await attempt('Deleting', () => call('DELETE', `/channels/${path(channel)}/failed-tasks/${path(id)}`));
  if (done !== null) notify(`Task ${id} deleted`);
}
